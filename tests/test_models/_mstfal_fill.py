"""Deterministic, name-keyed filling of the MS-TFAL network for golden
checks.

The golden literals in ``test_resnet18_os8.py`` and
``test_deeplabv3plus_lite_head.py`` come from the original
``DeepLabV3Plus(12, 18)`` (github BeileiCui/MS-TFAL, commit 538475e,
``net/Ours/base18.py``) run outside this repository by
``/tmp/m1_golden/golden.py`` (``cd /tmp/m1_golden && PYTHONPATH=site:repo:.
python golden.py``; adapted only to run: no ImageNet load from the
hard-coded path, timm stubbed). That script fills every parameter and
buffer with :func:`fill_tensor` keyed by its **original** name; here our
modules get the same values through :func:`mmvidseg_to_mstfal` (names) and
:func:`convert_mstfal_checkpoint` (loading), so the converter is checked
too.
"""
import zlib
from typing import Sequence, Tuple

import torch
from torch import Tensor

from mmvidseg.models.backbones import ResNet18OS8
from mmvidseg.models.converters import (convert_mstfal_checkpoint,
                                        mmvidseg_to_mstfal)
from mmvidseg.models.decode_heads import DeepLabV3PlusLiteHead

#: The seeded input: N=1 (eval) and N=2 (train mode; BatchNorm of the
#: image-pool branch needs more than one value per channel).
INPUT_SHAPE = (2, 3, 64, 80)


def fill_tensor(name: str, shape: Sequence[int]) -> Tensor:
    """Normal values from a generator seeded with ``crc32(name)``: conv
    weights with std sqrt(2 / fan_in), norm scales 1 + 0.1 N, biases and
    running means 0.1 N, running variances 0.5 + U[0, 1), counters 0."""
    g = torch.Generator().manual_seed(zlib.crc32(name.encode()))
    if name.endswith('num_batches_tracked'):
        return torch.tensor(0)
    if name.endswith('running_var'):
        return 0.5 + torch.rand(shape, generator=g)
    if name.endswith('running_mean') or name.endswith('bias'):
        return 0.1 * torch.randn(shape, generator=g)
    if len(shape) == 1:
        return 1 + 0.1 * torch.randn(shape, generator=g)
    fan_in = shape[1] * shape[2] * shape[3]
    return torch.randn(shape, generator=g) * (2.0 / fan_in)**0.5


def seeded_input() -> Tensor:
    """(2, 3, 64, 80) standard normal, seed 0."""
    g = torch.Generator().manual_seed(0)
    return torch.randn(*INPUT_SHAPE, generator=g)


def build_filled(num_classes: int = 12
                 ) -> Tuple[ResNet18OS8, DeepLabV3PlusLiteHead]:
    """Our backbone and head carrying the golden script's values."""
    backbone = ResNet18OS8()
    head = DeepLabV3PlusLiteHead(num_classes=num_classes)
    ours = {f'backbone.{k}': v for k, v in backbone.state_dict().items()}
    ours.update({f'decode_head.{k}': v for k, v in head.state_dict().items()})
    original = {name: fill_tensor(name, value.shape)
                for name, value in mmvidseg_to_mstfal(ours).items()}
    converted = convert_mstfal_checkpoint(original)
    for prefix, module in (('backbone.', backbone), ('decode_head.', head)):
        module.load_state_dict({
            k[len(prefix):]: v
            for k, v in converted.items() if k.startswith(prefix)
        })
    return backbone, head


def summary(t: Tensor) -> Tuple[float, float, list]:
    """Sum, absolute sum and five elements (first, 8th, 1/3, 1/2, last) of
    the flattened tensor, as the golden script prints them."""
    f = t.detach().flatten()
    idx = [0, 7, f.numel() // 3, f.numel() // 2, f.numel() - 1]
    return f.sum().item(), f.abs().sum().item(), [f[i].item() for i in idx]
