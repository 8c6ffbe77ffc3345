"""Errors a user can fix (bad data, settings, a missing tool): reported in one line, no traceback."""


class InputError(RuntimeError):
    """Bad or missing input; the message names the file, line or key."""
