"""The one exception type a stage turns into a one-line message."""


class GenlabError(Exception):
    """A user-facing error: bad params, bad input files, a failed run.

    Its message is a single line naming what is wrong and what is allowed.
    """
