"""Let ``torch.load(weights_only=True)`` read mmengine checkpoints.

Applies to torch >= 2.6, where ``weights_only=True`` is the default.

mmengine 0.10.x saves checkpoints that hold a few non-tensor objects (the
message hub's ``HistoryBuffer``s with numpy arrays, numpy scalars, config
dicts) and loads them with a plain ``torch.load``, which torch >= 2.6 runs
with ``weights_only=True``. Resuming then fails with "Weights only load
failed". Instead of turning safety off, :func:`allow_mmengine_checkpoints`
adds exactly these classes to torch's allow-list of safe globals.

One more entry is needed: a ``HistoryBuffer`` pickles its statistics
methods as ``getattr(HistoryBuffer, 'mean')``. Allowing the builtin
``getattr`` would let a checkpoint reach any attribute, so the name
``builtins.getattr`` is mapped to :func:`history_buffer_getattr`, which only
resolves the statistics methods of a ``HistoryBuffer`` and refuses everything
else.

:func:`check_checkpoint` and :func:`load_checkpoint_file` turn the ways a
checkpoint fails to load (missing, empty, truncated, not a checkpoint, a
global refused by the weights-only unpickler) into one
:class:`CheckpointError` naming the file and the reason;
:func:`allow_safe_globals` is the opt-in for the classes of a trusted file
(the tools' ``--safe-globals``).
"""
import importlib
import os.path as osp
import pickle
import re
import tarfile
import zipfile
from typing import Any, List, Optional, Sequence

import torch


def history_buffer_getattr(obj: Any, name: str) -> Any:
    """``getattr`` restricted to the public methods of a ``HistoryBuffer``.

    Raises:
        pickle.UnpicklingError: Any other object or attribute.
    """
    import pickle

    from mmengine.logging import HistoryBuffer
    is_buffer = obj is HistoryBuffer or isinstance(obj, HistoryBuffer)
    if is_buffer and not name.startswith('_') \
            and callable(getattr(HistoryBuffer, name, None)):
        return getattr(obj, name)
    raise pickle.UnpicklingError(
        f'refusing getattr({type(obj).__name__}, {name!r}) in a checkpoint')


def mmengine_safe_globals() -> List:
    """Classes and functions found in mmengine 0.10.x checkpoints."""
    import numpy as np
    from mmengine.config import ConfigDict
    from mmengine.logging import HistoryBuffer
    try:
        from numpy.core.multiarray import _reconstruct, scalar
    except ImportError:  # numpy >= 2
        from numpy._core.multiarray import _reconstruct, scalar
    safe = [HistoryBuffer, ConfigDict, np.ndarray, np.dtype]
    # a checkpoint names these by the module path of the numpy that saved
    # it: allow both spellings so numpy 1 and 2 read each other's files
    for module in ('numpy.core.multiarray', 'numpy._core.multiarray'):
        safe += [(_reconstruct, f'{module}._reconstruct'),
                 (scalar, f'{module}.scalar')]
    # dtype classes (numpy >= 1.25 pickles dtypes by their class)
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        safe += [
            getattr(dtypes, n) for n in dir(dtypes) if n.endswith('DType')
        ]
    safe += [(history_buffer_getattr, 'builtins.getattr'),
             (history_buffer_getattr, '__builtin__.getattr')]
    return safe


def allow_mmengine_checkpoints() -> bool:
    """Allow-list mmengine's checkpoint classes; False if torch < 2.4."""
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is None:
        return False
    add(mmengine_safe_globals())
    return True


class CheckpointError(ValueError):
    """A checkpoint torch cannot load; the message names the file and why.

    Attributes:
        path (str): The checkpoint file.
        refused (str, optional): The global (``module.Name``) that torch's
            weights-only unpickler refused, if that was the reason.
    """

    def __init__(self, message: str, path: str,
                 refused: Optional[str] = None) -> None:
        super().__init__(message)
        self.path = path
        self.refused = refused


def _file_format(path: str, what: str) -> str:
    """``'zip'``, ``'pickle'`` or ``'tar'`` (the formats of ``torch.save``).

    Raises:
        FileNotFoundError: No such file.
        IsADirectoryError: ``path`` is a folder.
        CheckpointError: Empty, a truncated zip archive, or another kind
            of file.
    """
    if not osp.exists(path):
        raise FileNotFoundError(f'{what} {path!r} not found')
    if osp.isdir(path):
        raise IsADirectoryError(f'{what} {path!r} is a folder, not a file')
    size = osp.getsize(path)
    if size == 0:
        raise CheckpointError(f'{what} {path!r} is empty (0 bytes)', path)
    with open(path, 'rb') as f:
        head = f.read(8)
    if head.startswith(b'PK'):
        if not zipfile.is_zipfile(path):
            raise CheckpointError(
                f'{what} {path!r} is truncated or corrupt: its zip archive '
                f'has no central directory ({size} bytes; an interrupted '
                'save, download or copy?)', path)
        return 'zip'
    if head.startswith(b'\x80'):
        return 'pickle'  # torch < 1.6 format
    if tarfile.is_tarfile(path):
        return 'tar'  # torch < 0.4 format
    raise CheckpointError(
        f'{what} {path!r} is not a PyTorch checkpoint (neither a zip '
        f'archive nor a pickle; it starts with {head!r})', path)


def _explain(exc: BaseException, path: str, what: str) -> CheckpointError:
    """A :class:`CheckpointError` naming ``path`` and the reason of
    ``exc`` (raised by ``torch.load``)."""
    text = ' '.join(str(exc).split())
    if isinstance(exc, pickle.UnpicklingError) and \
            'Weights only load failed' in text:
        refused = re.search(r'Unsupported global: GLOBAL ([\w.]+)', text)
        if refused and refused.group(1).startswith('__main__.'):
            name = refused.group(1)
            return CheckpointError(
                f'{what} {path!r}: torch.load(weights_only=True) refused '
                f'{name}, a class of the script that saved the file, which '
                'cannot be imported here; save the checkpoint without it',
                path, name)
        if refused:
            name = refused.group(1)
            return CheckpointError(
                f'{what} {path!r}: torch.load(weights_only=True) refused '
                f'{name}, which is not an allowed global; if you trust the '
                f'file, allow it with --safe-globals {name} (in Python: '
                'torch.serialization.add_safe_globals)', path, name)
        reason = re.search(
            r'WeightsUnpickler error: (.*?)(?: Check the documentation|$)',
            text)
        return CheckpointError(
            f'{what} {path!r}: torch.load(weights_only=True) refused it: '
            f'{reason.group(1) if reason else text}', path)
    corrupt = ('PytorchStreamReader', 'EOF', 'truncated', 'corrupt')
    if isinstance(exc, (EOFError, IndexError, pickle.UnpicklingError)) or \
            any(c in text for c in corrupt):
        reason = text.split('. ')[0] if 'PytorchStreamReader' in text else \
            f'{type(exc).__name__}: {text}' if text else \
            f'{type(exc).__name__}: the data ends early'
        return CheckpointError(
            f'{what} {path!r} is truncated or corrupt ({reason})', path)
    if isinstance(exc, (ImportError, AttributeError)):
        return CheckpointError(
            f'{what} {path!r} cannot be unpickled here: '
            f'{type(exc).__name__}: {text}', path)
    return CheckpointError(
        f'cannot load {what} {path!r}: {type(exc).__name__}: {text}', path)


def load_checkpoint_file(path: str,
                         map_location: Any = 'cpu',
                         weights_only: Optional[bool] = None,
                         what: str = 'checkpoint',
                         mmap: Optional[bool] = None) -> Any:
    """``torch.load`` with one clear error per way a file fails to load.

    Args:
        path (str): Local checkpoint file.
        map_location: As ``torch.load``.
        weights_only (bool, optional): As ``torch.load`` (None: torch's
            default, ``True`` from torch 2.6, as mmengine loads).
        what (str): How the file is named in messages.
        mmap (bool, optional): Map the tensors instead of reading them
            (zip checkpoints only).

    Raises:
        FileNotFoundError: No such file.
        CheckpointError: Empty, truncated or corrupt, not a checkpoint, or
            refused by the weights-only unpickler (the message names the
            refused global and ``--safe-globals``).
    """
    _file_format(path, what)
    kwargs = {} if mmap is None else dict(mmap=mmap)
    try:
        return torch.load(path, map_location=map_location,
                          weights_only=weights_only, **kwargs)
    except Exception as exc:
        raise _explain(exc, path, what) from exc


def check_checkpoint(path: Optional[str],
                     weights_only: Optional[bool] = None,
                     what: str = 'checkpoint') -> None:
    """Check that ``torch.load`` (as mmengine calls it) can read ``path``.

    Unpickles the whole file with the same ``weights_only`` rules but maps
    the tensors instead of reading them (zip checkpoints), so it costs
    little even for large files; run it before building a model so that a
    bad file fails at once. ``None`` and URLs (``scheme://``, read by
    mmengine's file backends) are not checked.

    Raises:
        FileNotFoundError: No such file.
        CheckpointError: See :func:`load_checkpoint_file`.
    """
    if path is None or '://' in str(path):
        return
    mmap = _file_format(path, what) == 'zip'
    load_checkpoint_file(path, 'cpu', weights_only, what, mmap=mmap or None)


def allow_safe_globals(names: Sequence[str]) -> List[Any]:
    """Add ``module.Name`` globals to torch's weights-only allow-list.

    The opt-in for a trusted checkpoint that holds a class torch refuses
    (``--safe-globals argparse.Namespace``); nothing else is allowed.

    Returns:
        list: The objects that were allowed.

    Raises:
        ValueError: A name that cannot be imported, or torch < 2.4.
    """
    names = list(names or [])
    if not names:
        return []
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is None:
        raise ValueError('--safe-globals needs torch >= 2.4')
    allowed = []
    for name in names:
        parts = name.split('.')
        obj = None
        for i in range(len(parts) - 1, 0, -1):
            try:
                obj = importlib.import_module('.'.join(parts[:i]))
            except ImportError:
                continue
            try:
                for attr in parts[i:]:
                    obj = getattr(obj, attr)
            except AttributeError:
                obj = None
            break
        if obj is None:
            raise ValueError(f'--safe-globals {name!r}: no such importable '
                             'global (expected module.Name)')
        own = f"{getattr(obj, '__module__', '')}." \
              f"{getattr(obj, '__qualname__', '')}"
        allowed.append(obj if own == name else (obj, name))
    add(allowed)
    return [a[0] if isinstance(a, tuple) else a for a in allowed]
