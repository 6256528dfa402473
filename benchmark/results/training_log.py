"""Reading a run's training log (benchmark/run/training_log.py writes it): the CSV file
every run's log folder holds, as one tidy frame. pandas is imported by the reader only: a
run never needs it (0.3 s of start-up)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

LOG_FILE = "metrics.csv"
"""The CSV file every run's log directory holds (the name Lightning's CSVLogger gives it)."""

COLUMN_PREFIX = "train/"
"""The prefix of every logged column; the reader names columns without it."""


def read_training_log(path: Path) -> pd.DataFrame:
    """A CSV training log as a tidy frame, one row per logged step in step order: ``step``,
    ``samples``, ``flops``, ``loss``, ``loss_mean``, ``lr``, ``grad_norm``,
    ``samples_per_s`` and the method's loss terms, named without the ``train/`` prefix
    (``skipped_batches`` too, where a method skipped some). Lightning's ``epoch`` column is
    left out. Counts are integers; a value not logged on a row is NaN."""
    import pandas as pd

    frame = pd.read_csv(path)
    frame = frame.drop(columns=[c for c in ("epoch",) if c in frame.columns])
    frame.columns = [c.removeprefix(COLUMN_PREFIX) for c in frame.columns]
    # Lightning's row and TrainingLogCallback's row of one step become one
    frame = frame.groupby("step", as_index=False, sort=True).first()
    for count in ("samples", "flops"):
        if count in frame.columns and frame[count].notna().all():
            frame[count] = frame[count].astype("int64")
    leading = [c for c in ("step", "samples", "flops", "loss", "loss_mean")
               if c in frame.columns]
    return frame[leading + [c for c in frame.columns if c not in leading]]
