"""ModulatedDCNPack: golden values of SALI's DCNv2Pack, zero-initialised
offsets, the large-offset warning, CPU backward.

Golden values: the original SALI code (github Scatteredrain/SALI, commit
c760e64) run on CPU by ``/tmp/h1_golden/golden_modules.py`` (key
``dcn_pack``) with its CUDA op replaced by
``mmcv.ops.modulated_deform_conv2d``; parameters (``conv_offset`` too)
filled by ``tests/test_models/_sali_fill.py`` under
``pcd_align.dcn_pack.l2.*`` (mean absolute offset 0.734 pixels).
"""
import torch
import torch.nn.functional as F

import mmvidseg.models.layers.modulated_dcn_pack as dcn_module
from mmvidseg.models.layers import ModulatedDCNPack

from .._sali_fill import assert_summary, fill_like_sali_, seeded_randn

GOLDEN = [56.9532816, 1645.902221, -0.1153217107, 0.08454635739,
          -0.06350325048, -0.0180661194]
GOLDEN_OFFSET_ABS_MEAN = 0.7339134216


@torch.no_grad()
def test_golden():
    m = fill_like_sali_(
        ModulatedDCNPack(32, 32, 3, padding=1, deform_groups=8),
        'decode_head.alignment.dcn_pack.l2.')
    x = seeded_randn(2, 32, 9, 11, seed=7)
    feat = seeded_randn(2, 32, 9, 11, seed=8)
    out = m(x, feat)
    assert out.shape == (2, 32, 9, 11)
    assert_summary(out, GOLDEN)
    o1, o2, _ = torch.chunk(m.conv_offset(feat), 3, dim=1)
    offset_abs_mean = torch.cat([o1, o2], 1).abs().mean().item()
    assert abs(offset_abs_mean - GOLDEN_OFFSET_ABS_MEAN) < 1e-6


def test_zero_init_is_half_a_plain_conv():
    torch.manual_seed(0)
    m = ModulatedDCNPack(8, 6, 3, padding=1, deform_groups=2)
    assert m.conv_offset.out_channels == 2 * 3 * 9
    assert not m.conv_offset.weight.any() and not m.conv_offset.bias.any()
    torch.nn.init.normal_(m.conv_offset.weight)
    m.init_weights()  # re-zeroes the offsets
    assert not m.conv_offset.weight.any()
    x, feat = torch.randn(2, 8, 7, 5), torch.randn(2, 8, 7, 5)
    # zero offsets, mask sigmoid(0) = 0.5
    bias = m.bias.view(1, -1, 1, 1)
    expected = 0.5 * F.conv2d(x, m.weight, padding=1) + bias
    torch.testing.assert_close(m(x, feat), expected, rtol=1e-5, atol=1e-5)


def test_large_offset_warns_once(monkeypatch):
    messages = []
    monkeypatch.setattr(dcn_module, 'print_log',
                        lambda msg, **kwargs: messages.append(msg))
    m = ModulatedDCNPack(4, 4, 3, padding=1, deform_groups=1)
    x = torch.randn(1, 4, 5, 5)
    m(x, x)
    assert messages == []
    with torch.no_grad():
        m.conv_offset.bias.fill_(60.)
    m(x, x)
    m(x, x)
    assert len(messages) == 1 and 'mean absolute offset 60.0' in messages[0]


def test_cpu_backward():
    torch.manual_seed(1)
    m = ModulatedDCNPack(8, 8, 3, padding=1, deform_groups=4)
    torch.nn.init.normal_(m.conv_offset.weight, std=0.1)
    x = torch.randn(1, 8, 6, 6, requires_grad=True)
    feat = torch.randn(1, 8, 6, 6, requires_grad=True)
    m(x, feat).square().sum().backward()
    for grad in (x.grad, feat.grad, m.weight.grad, m.conv_offset.weight.grad):
        assert grad is not None and grad.abs().sum() > 0
