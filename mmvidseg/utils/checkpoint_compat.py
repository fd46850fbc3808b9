"""Let ``torch.load(weights_only=True)`` (torch >= 2.6) read mmengine checkpoints.

mmengine 0.10.x saves checkpoints that hold a few non-tensor objects (the
message hub's ``HistoryBuffer``s with numpy arrays, numpy scalars, config
dicts) and loads them with a plain ``torch.load``, which torch >= 2.6 runs
with ``weights_only=True``. Resuming then fails with "Weights only load
failed". Instead of turning safety off, :func:`allow_mmengine_checkpoints`
adds exactly these classes to torch's allow-list of safe globals.
"""
from typing import List

import torch


def mmengine_safe_globals() -> List:
    """Classes and functions found in mmengine 0.10.x checkpoints."""
    import numpy as np
    from mmengine.config import ConfigDict
    from mmengine.logging import HistoryBuffer
    try:
        from numpy.core.multiarray import _reconstruct, scalar
    except ImportError:  # numpy >= 2
        from numpy._core.multiarray import _reconstruct, scalar
    safe = [HistoryBuffer, ConfigDict, np.ndarray, np.dtype, _reconstruct,
            scalar]
    # dtype classes (numpy >= 1.25 pickles dtypes by their class)
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        safe += [
            getattr(dtypes, n) for n in dir(dtypes) if n.endswith('DType')
        ]
    return safe


def allow_mmengine_checkpoints() -> bool:
    """Allow-list mmengine's checkpoint classes; False if torch < 2.4."""
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is None:
        return False
    add(mmengine_safe_globals())
    return True
