"""Deterministic, name-keyed parameter filling for SALI golden checks.

The golden values in the SALI tests come from the original code (github
Scatteredrain/SALI, commit c760e64) run outside this repository by
``/tmp/h1_golden/golden_modules.py``, which fills every parameter and
buffer of the original modules with :func:`fill_tensor` keyed by its
**original** full-model name (``pcd_align.dcn_pack.l3.weight``, ...). Here
our modules get the same values: their names are mapped to the original
ones with :func:`mmvidseg_to_sali`, filled, and loaded back through
:func:`convert_sali_checkpoint`, so the converter is checked as well.
"""
import zlib
from typing import Dict, Mapping, Sequence

import torch
from torch import Tensor, nn

from mmvidseg.models.converters import (convert_sali_checkpoint,
                                        mmvidseg_to_sali)


def fill_tensor(name: str, shape: Sequence[int]) -> Tensor:
    """A deterministic tensor for the parameter/buffer ``name``.

    Uniform values from a generator seeded with ``crc32(name)``: weights of
    rank >= 2 in +-sqrt(3 / fan_in) (unit output variance), norm scales
    1 +- 0.1, biases and running means +-0.1, running variances in
    [1, 1.5), ``num_batches_tracked`` 0.
    """
    leaf = name.rsplit('.', 1)[-1]
    shape = tuple(shape)
    if leaf == 'num_batches_tracked':
        return torch.zeros(shape, dtype=torch.long)
    gen = torch.Generator().manual_seed(zlib.crc32(name.encode()))
    u = torch.rand(shape, generator=gen, dtype=torch.float64)
    if leaf == 'running_var':
        out = 1 + 0.5 * u
    elif len(shape) >= 2:
        fan_in = 1
        for s in shape[1:]:
            fan_in *= s
        out = (2 * u - 1) * (3.0 / fan_in)**0.5
    elif leaf == 'weight':
        out = 1 + 0.1 * (2 * u - 1)
    else:
        out = 0.1 * (2 * u - 1)
    return out.float()


def fill_state(shapes: Mapping[str, Tensor]) -> Dict[str, Tensor]:
    """``{name: fill_tensor(name, t.shape)}`` for a (template) state dict."""
    return {k: fill_tensor(k, v.shape) for k, v in shapes.items()}


@torch.no_grad()
def fill_module_(module: nn.Module, prefix: str = '') -> nn.Module:
    """Fill a module whose names (after ``prefix``) are the filling names.

    Used on the original modules, with their original full-model prefix.
    """
    for name, tensor in module.state_dict().items():
        tensor.copy_(fill_tensor(prefix + name, tensor.shape))
    return module


def fill_like_sali_(module: nn.Module, prefix: str) -> nn.Module:
    """Fill one of our modules with the values of its SALI counterpart.

    Args:
        module (nn.Module): Our module (or whole model with ``prefix=''``).
        prefix (str): Its name in our SALI model, e.g.
            ``'decode_head.alignment.'``, ``'neck.blocks.0.'``,
            ``'backbone.'``.
    """
    ours = {prefix + k: v for k, v in module.state_dict().items()}
    original = fill_state(mmvidseg_to_sali(ours))
    converted = convert_sali_checkpoint(original)
    state = {k[len(prefix):]: v for k, v in converted.items()}
    module.load_state_dict(state, strict=True)
    return module


def seeded_randn(*shape: int, seed: int) -> Tensor:
    """Standard-normal input from a seeded CPU generator."""
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


def summary(x: Tensor, num: int = 4) -> list:
    """``[sum, abs sum, num evenly spaced elements]`` of ``x`` (floats)."""
    flat = x.detach().double().flatten()
    step = max(flat.numel() // num, 1)
    picks = flat[::step][:num]
    return [flat.sum().item(), flat.abs().sum().item()] + picks.tolist()


def assert_summary(x: Tensor, expected: Sequence[float],
                   rtol: float = 1e-5) -> None:
    """Compare :func:`summary` of ``x`` with golden values.

    The sums are compared relative to the golden absolute sum (they may
    cancel), the elements with ``rtol`` and an absolute tolerance of
    ``rtol`` times the mean absolute value.
    """
    actual = summary(x, len(expected) - 2)
    scale = expected[1]
    mean_abs = scale / x.numel()
    for i, (a, e) in enumerate(zip(actual, expected)):
        tol = rtol * scale if i < 2 else rtol * abs(e) + rtol * mean_abs
        assert abs(a - e) <= tol, (
            f'summary[{i}]: got {a!r}, golden {e!r} (tolerance {tol:.3g})')
