"""Command-line error reporting shared by the tools.

Every tool runs its work inside :func:`report_errors` and has ``--debug``
(:func:`add_debug_arg`); tools that load checkpoints also have
``--safe-globals`` (:func:`add_safe_globals_arg`). A user mistake then ends
the tool with one line on stderr, ``<prog>: error: <message naming the file
or key>``, and exit status 1; ``--debug`` shows the traceback instead.
"""
import argparse
import logging
import sys
from contextlib import contextmanager
from typing import Iterator, Optional

#: Exception classes raised for bad input (files, config keys, videos):
#: reported by their message alone. Others (a bug, an out-of-memory error)
#: are reported with their class name and a hint at ``--debug``.
USER_ERRORS = (OSError, ValueError, KeyError, TypeError, ImportError,
               SyntaxError)


def add_debug_arg(parser: argparse.ArgumentParser) -> None:
    """``--debug``: show the traceback of an error."""
    parser.add_argument(
        '--debug', action='store_true',
        help='show the traceback of an error instead of a one-line message')


def add_safe_globals_arg(parser: argparse.ArgumentParser) -> None:
    """``--safe-globals``: classes a trusted checkpoint may hold."""
    parser.add_argument(
        '--safe-globals', nargs='+', default=[], metavar='MODULE.NAME',
        help='allow these classes in checkpoints (torch loads checkpoints '
        'with weights_only=True and refuses other classes); only for files '
        'you trust, e.g. --safe-globals argparse.Namespace')


def error_message(exc: BaseException) -> str:
    """One line describing ``exc`` (see :data:`USER_ERRORS`)."""
    message = ' '.join(str(exc).split())
    user = isinstance(exc, USER_ERRORS)
    if isinstance(exc, KeyError):
        arg = exc.args[0] if len(exc.args) == 1 else None
        # a sentence raised on purpose vs. a bare failed lookup (a bug)
        user = isinstance(arg, str) and ' ' in arg.strip()
        if user:
            message = ' '.join(arg.split())
    if not message:
        return type(exc).__name__
    return message if user else f'{type(exc).__name__}: {message}'


def _log_traceback(exc: BaseException) -> Optional[str]:
    """Append the traceback to the current mmengine run log, if there is
    one; return the log file."""
    logger_cls = getattr(sys.modules.get('mmengine.logging'), 'MMLogger',
                         None)
    if logger_cls is None or not getattr(logger_cls, '_instance_dict', None):
        return None
    logger = logger_cls.get_current_instance()
    files = [h for h in logger.handlers
             if isinstance(h, logging.FileHandler)]
    if not files:
        return None
    record = logger.makeRecord(
        logger.name, logging.ERROR, __file__, 0, 'the run stopped on an '
        'error', (), (type(exc), exc, exc.__traceback__))
    for handler in files:
        handler.handle(record)
    return files[0].baseFilename


@contextmanager
def report_errors(prog: str, debug: bool = False) -> Iterator[None]:
    """Turn an exception into a one-line message and exit status 1.

    User mistakes (a missing file, a bad config key, an unreadable video, a
    checkpoint torch refuses) are reported as ``<prog>: error: <message>``;
    other exceptions as ``<prog>: error: <Class>: <message> (--debug shows
    the traceback)``, their traceback also appended to the run's log file
    when an mmengine run has one. With ``debug`` the exception propagates
    with its traceback. ``KeyboardInterrupt`` and ``SystemExit`` pass
    through.
    """
    try:
        yield
    except Exception as exc:
        if debug:
            raise
        message = error_message(exc)
        if not isinstance(exc, USER_ERRORS) or \
                message.startswith(f'{type(exc).__name__}: '):
            log = _log_traceback(exc)
            message += (f' (traceback in {log}; --debug shows it)'
                        if log else ' (--debug shows the traceback)')
        sys.exit(f'{prog}: error: {message}')
