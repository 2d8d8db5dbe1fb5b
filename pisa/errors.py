"""Errors the command line reports as one line instead of a traceback."""


class CLIError(Exception):
    """A user error: printed as one line, exit status 2."""
