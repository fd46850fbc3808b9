"""PCDAlignment: golden values of SALI's PCDAlignment, zero-initialised
offsets that survive ``init_cfg``, shapes, CPU backward.

Golden values: the original SALI code (github Scatteredrain/SALI, commit
c760e64) run on CPU by ``/tmp/h1_golden/golden_modules.py`` (key ``pcd``)
with ``mmcv.ops.modulated_deform_conv2d`` for its CUDA op; parameters filled
by ``tests/test_models/_sali_fill.py`` under ``pcd_align.*``; pyramids of
40, 20, 10 pixels.
"""
import pytest
import torch

from mmvidseg.models.layers import PCDAlignment

from .._sali_fill import assert_summary, fill_like_sali_, seeded_randn

GOLDEN = [[-3783.621678, 21894.69706, 0.05303920805, 0.02550978586,
           0.2480735034, 0.1467124224],
          [2301.879029, 2844.851838, -0.01767397486, -0.04297664389,
           -0.001390677295, -0.02034185641],
          [756.1352641, 917.6881781, -0.003060864285, 0.5843613148,
           0.308478117, -0.0512749441]]


def _pyramid(seed, channels=32, sizes=(40, 20, 10)):
    return [
        seeded_randn(2, channels, s, s, seed=seed + i)
        for i, s in enumerate(sizes)
    ]


@torch.no_grad()
def test_golden():
    m = fill_like_sali_(PCDAlignment(32, 8), 'decode_head.alignment.')
    out = m(_pyramid(9), _pyramid(12))
    assert [o.shape for o in out] == [(2, 32, 40, 40), (2, 32, 20, 20),
                                      (2, 32, 10, 10)]
    for o, golden in zip(out, GOLDEN):
        assert_summary(o, golden)


def test_zero_offsets_survive_init_cfg():
    m = PCDAlignment(
        8, 2, init_cfg=dict(type='Normal', layer='Conv2d', std=0.5))
    m.init_weights()
    for level in ('l1', 'l2', 'l3'):
        dcn = m.dcn_pack[level]
        assert not dcn.conv_offset.weight.any(), level
        assert not dcn.conv_offset.bias.any(), level
    assert m.offset_conv1['l3'].weight.std() > 0.3  # init_cfg applied
    assert set(m.feat_conv) == {'l1', 'l2'}
    assert set(m.offset_conv3) == {'l1', 'l2'}


def test_shapes_backward_and_errors():
    torch.manual_seed(0)
    m = PCDAlignment(8, 2)
    for dcn in m.dcn_pack.values():
        torch.nn.init.normal_(dcn.conv_offset.weight, std=0.05)
    nbr = [
        torch.randn(1, 8, 2 * s, 3 * s, requires_grad=True)
        for s in (4, 2, 1)
    ]
    ref = [torch.randn_like(t) for t in nbr]
    out = m(nbr, ref)
    assert [o.shape for o in out] == [t.shape for t in nbr]
    sum(o.sum() for o in out).backward()
    assert all(t.grad.abs().sum() > 0 for t in nbr)
    assert m.dcn_pack['l1'].conv_offset.weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match='3-level pyramids'):
        m(nbr[:2], ref[:2])
