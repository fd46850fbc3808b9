"""Command-line error reporting shared by the tools."""
import sys
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def report_errors(prog: str, debug: bool = False) -> Iterator[None]:
    """Turn an exception into a one-line message and exit status 1.

    User mistakes (a missing file, a bad config key, an unreadable video)
    are reported as ``<prog>: error: <message>``; with ``debug`` the
    exception propagates with its traceback. ``KeyboardInterrupt`` and
    ``SystemExit`` pass through.
    """
    try:
        yield
    except Exception as exc:
        if debug:
            raise
        message = ' '.join(str(exc).split()) or type(exc).__name__
        if isinstance(exc, KeyError) and message.startswith(("'", '"')):
            message = message[1:-1]  # KeyError quotes its message
        sys.exit(f'{prog}: error: {message}')
