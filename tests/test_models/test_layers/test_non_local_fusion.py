"""NonLocalFusion: golden values of SALI's NonLocalNet (SAM blocks,
``bn_layer=False``), zero-initialised W, shapes, backward.

Golden values: the original SALI code (github Scatteredrain/SALI, commit
c760e64) run on CPU by ``/tmp/h1_golden/golden_modules.py`` (keys
``fusion/*``), parameters (the zero-initialised ``W`` too) filled by
``tests/test_models/_sali_fill.py`` under ``nlnet.*``; pyramids of 40, 20,
10 pixels (the 10-pixel scale max-pools by 8 to 1x1).
"""
import pytest
import torch

from mmvidseg.models.layers import NonLocalFusion
from mmvidseg.models.layers.non_local_fusion import _NonLocalBlock

from .._sali_fill import assert_summary, fill_like_sali_, seeded_randn

GOLDEN = {
    'eval': [[-12253.58843, 97102.48784, 0.3136197329, -1.35704875,
              -0.03372044489, -0.06122289225],
             [-4732.411152, 26216.70084, -0.3284388185, 0.9258845448,
              -0.2431530207, 0.276994288],
             [219.5855071, 10497.88101, -0.6838156581, -1.390263557,
              0.4575992823, -1.249393344]],
    'train': [[11.55508028, 81260.88312, 0.3194001615, -1.193230152,
               -0.02686221339, 0.2082901895],
              [-202.5035404, 20568.07935, 0.1337569654, 1.492883921,
               0.2319349051, 0.7303441763],
              [-116.3002082, 5224.537585, -0.5176877975, -0.245481506,
               0.6983720064, -0.1044555977]]
}


def _pyramid(seed, sizes=(40, 20, 10)):
    return [
        seeded_randn(2, 32, s, s, seed=seed + i) for i, s in enumerate(sizes)
    ]


@torch.no_grad()
@pytest.mark.parametrize('mode', ['eval', 'train'])
def test_golden(mode):
    m = fill_like_sali_(NonLocalFusion(32), 'decode_head.fusion.')
    m.train(mode == 'train')
    out = m(_pyramid(15), _pyramid(18))
    assert [o.shape[1:] for o in out] == [(32, 40, 40), (32, 20, 20),
                                          (32, 10, 10)]
    for o, golden in zip(out, GOLDEN[mode]):
        assert_summary(o, golden)


def test_zero_init_survives_init_cfg():
    m = NonLocalFusion(
        8, init_cfg=dict(type='Normal', layer='Conv2d', std=0.5))
    m.init_weights()
    assert [b.pool_size for b in m.blocks] == [2, 4, 8]
    for block in m.blocks:
        assert not block.out_proj.weight.any()
        assert not block.out_proj.bias.any()
        assert block.g.weight.std() > 0.3  # init_cfg applied


@torch.no_grad()
def test_zero_out_proj_makes_z_equal_x():
    torch.manual_seed(0)
    block = _NonLocalBlock(6, 2)
    x = torch.randn(2, 6, 5, 7)  # 5x7 pools to 2x3 (floor)
    expected = block.residual_conv(torch.cat([x, x], dim=1))
    torch.testing.assert_close(block(x), expected)


def test_backward_and_errors():
    torch.manual_seed(0)
    m = NonLocalFusion(4, pool_sizes=(2, 2, 2))
    for block in m.blocks:
        torch.nn.init.normal_(block.out_proj.weight, std=0.1)
    a = [torch.randn(2, 4, s, s, requires_grad=True) for s in (8, 4, 2)]
    b = [torch.randn(2, 4, s, s, requires_grad=True) for s in (8, 4, 2)]
    out = m(a, b)
    assert [o.shape for o in out] == [t.shape for t in a]
    sum(o.square().sum() for o in out).backward()
    assert all(t.grad.abs().sum() > 0 for t in a + b)
    assert m.blocks[0].g.weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match='expects 3 scales'):
        m(a[:2], b[:2])
