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
"""
from typing import Any, List

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
