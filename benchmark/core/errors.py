"""The exception types that mean "the user asked for something we cannot do" and "the run
itself failed".

The CLI prints a :class:`UserError` as a single line and exits with status 2. A
:class:`NonFiniteOutput` is a failed run (NaN or inf where numbers belong), not a bug;
any other exception is a bug and keeps its traceback.
"""


class UserError(Exception):
    """Bad input from the user: the message names the problem and the fix."""


class RefusedTask(UserError):
    """A method cannot serve a task by design (e.g. a pair model it does not build).

    Sweeps skip such runs and list them as refused instead of failing.
    """


class NonFiniteOutput(Exception):
    """A run produced NaN or infinite numbers (a training loss, generated embeddings).

    Not a :class:`UserError`: the input was acceptable and the run itself failed, so it
    ends as a ``failed`` record that says so instead of being scored or averaged.
    """
