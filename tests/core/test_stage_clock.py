"""The stage clock: self time per nested stage path, nothing counted twice."""

from __future__ import annotations

import time

import pytest

from benchmark.core.stage_clock import StageClock, timed


def test_nested_stages_get_their_self_time_under_their_path() -> None:
    with StageClock() as clock:
        with timed("evaluate"):
            time.sleep(0.02)
            with timed("decode/audio"):
                time.sleep(0.05)
            with timed("decode/audio"):
                time.sleep(0.05)
        with timed("checkpoints"), timed("decode/audio"):
            time.sleep(0.03)
    seconds = clock.seconds
    assert set(seconds) == {"evaluate", "evaluate/decode/audio", "checkpoints",
                            "checkpoints/decode/audio"}
    assert seconds["evaluate/decode/audio"] == pytest.approx(0.10, abs=0.03)
    assert seconds["evaluate"] == pytest.approx(0.02, abs=0.015)  # the decodes not in it
    assert seconds["checkpoints"] < 0.01
    assert clock.inclusive("evaluate") == pytest.approx(
        seconds["evaluate"] + seconds["evaluate/decode/audio"])
    assert clock.inclusive("eval") == 0.0  # a prefix of a name is not a parent


def test_outside_a_clock_timed_records_nothing_and_an_exception_still_closes_the_stage() -> None:
    with timed("sample"):
        pass
    with StageClock() as clock:
        with pytest.raises(ValueError), timed("metric/fid"):
            raise ValueError("boom")
        with timed("sample"):
            pass
    assert set(clock.seconds) == {"metric/fid", "sample"}  # "sample" is not under metric/fid
