"""The one exception type that means "the user asked for something we cannot do".

The CLI prints a :class:`UserError` as a single line and exits with status 2; any other
exception is a bug and keeps its traceback.
"""


class UserError(Exception):
    """Bad input from the user: the message names the problem and the fix."""


class RefusedTask(UserError):
    """A method cannot serve a task by design (e.g. a pair model it does not build).

    Sweeps skip such runs and list them as refused instead of failing.
    """
