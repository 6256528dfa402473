"""The exit statuses of ``python -m benchmark``, each with one meaning, defined once.

    0    OK           the command did what it was asked
    1    DRIFT        ``check`` only: a metric moved beyond its tolerance
    2    USER_ERROR   bad input (a :class:`~benchmark.core.errors.UserError`), one line
    3    RUN_FAILED   a run (or a sweep's run, or a crash of the tool itself) failed;
                     ``run`` and ``sweep`` have written a ``failed`` record for each run
    130  INTERRUPTED  Ctrl-C, SIGINT or SIGTERM; no record was written for unfinished runs

A sweep (benchmark/sweep/local.py) reads its run processes' statuses by these names.
"""

OK = 0
DRIFT = 1
USER_ERROR = 2
RUN_FAILED = 3
INTERRUPTED = 130
