import argparse

import pytest

from benchmark.core.errors import UserError
from benchmark.core.tasks import Task, all_tasks, cycle_tasks, every_task, parse_task, task_group


def test_all_tasks_has_six_directed_three_many_to_one_three_one_to_many():
    kinds = [t.kind for t in all_tasks()]
    assert kinds.count("directed") == 6
    assert kinds.count("many-to-one") == 3
    assert kinds.count("one-to-many") == 3
    assert len({t.name for t in all_tasks()}) == 12


@pytest.mark.parametrize("task", all_tasks(), ids=str)
def test_every_task_name_round_trips(task):
    assert parse_task(task.name) == task


def test_sides_are_put_in_canonical_order():
    assert parse_task("audio+text2image") == Task(("text", "audio"), ("image",))


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        ("audio2imag", "did you mean 'image'"),
        ("audio2audio", "both source and target"),
        ("audioimage", "did you mean 'audio2image'"),
        ("2image", "did you mean 'text2image'"),
        ("zzz", "choose one of"),
    ],
)
def test_bad_task_names_get_a_hint(name, hint):
    with pytest.raises(UserError, match=hint):
        parse_task(name)


def test_round_trips_are_served_by_their_two_legs_and_named_there_and_back():
    cycles = cycle_tasks()
    assert len(cycles) == 6 and {t.kind for t in cycles} == {"cycle"}
    trip = parse_task("text2image2text")
    assert trip == Task(("text",), ("text",), via="image") and trip.name == "text2image2text"
    assert trip.legs == (Task(("text",), ("image",)), Task(("image",), ("text",)))
    assert trip.modalities == ("text", "image")
    assert [t.name for t in every_task()] == [t.name for t in all_tasks() + cycles]


def test_a_many_to_one_task_names_its_single_sources():
    assert parse_task("text+audio2image").single_sources == (
        Task(("text",), ("image",)), Task(("audio",), ("image",)))
    assert parse_task("text2image").single_sources == ()


@pytest.mark.parametrize(("group", "count"), [("directed", 6), ("many-to-one", 3),
                                              ("one-to-many", 3), ("cycles", 6), ("all", 18)])
def test_task_groups(group, count):
    assert len(task_group(group)) == count


def test_tasks_option_takes_groups_and_names_together():
    from benchmark.cli.arguments import task_names

    assert task_names("one-to-many,text2image2text") == [
        "text2image+audio", "image2text+audio", "audio2text+image", "text2image2text"]
    with pytest.raises(argparse.ArgumentTypeError, match="listed more than once"):
        task_names("cycles,text2image2text")
