"""User-facing errors: each says what is wrong and what to do about it."""


class GanforgeError(Exception):
    """A problem the user can fix (bad data, bad run folder, ...). The CLI prints the message
    without a traceback."""

    recipe_path: tuple = ()
    """The recipe slot the problem lies in (``("models", "generator")``), when it is known: the
    preflight turns it into the file and line that set it."""


class DataError(GanforgeError):
    """Data that cannot be read or used: a missing file, a corrupt image, a wrong layout."""


class RunFolderError(GanforgeError):
    """A run folder that cannot be used as asked (exists, incomplete, unwritable)."""


class RunFolderInUse(RunFolderError):
    """A run folder another process is writing (it holds the folder's lock)."""


class GanforgeDeprecationWarning(FutureWarning):
    """Something a plugin or recipe does still works but will stop working in a later major
    version; the message says what to change. (A FutureWarning, so users see it by default.)"""
