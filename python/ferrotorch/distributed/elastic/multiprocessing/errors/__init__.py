"""``record``: scripts decorate their entry point with it so that the launcher can report the
exception of a failed rank (ferrotorch.distributed.run records uncaught exceptions anyway)."""
import functools

from ...._bootstrap import write_error_file

__all__ = ["ChildFailedError", "record"]


class ChildFailedError(Exception):
    """Raised by launchers when ranks failed (kept for imports; ferrotorch's launcher exits with 1)."""

    def __init__(self, name, failures):
        self.name, self.failures = name, failures
        super().__init__(f"{name} FAILED")


def record(fn=None, error_handler=None):
    """Writes an exception escaping `fn` to TORCHELASTIC_ERROR_FILE (when set), then re-raises it."""
    def wrap(f):
        @functools.wraps(f)
        def wrapper(*args, **kwargs):
            try:
                return f(*args, **kwargs)
            except SystemExit as e:
                if e.code not in (None, 0):
                    write_error_file(e)
                raise
            except Exception as e:
                write_error_file(e)
                raise
        return wrapper
    return wrap(fn) if fn is not None else wrap
