"""NeighborConnectionDecoder: golden values of SINet-V2's NCD in SALI.

Golden values: the original SALI code (github Scatteredrain/SALI, commit
c760e64) run on CPU by ``/tmp/h1_golden/golden_modules.py`` (key ``ncd``),
parameters filled by ``tests/test_models/_sali_fill.py`` under
``backbone.decoder.NCD.*``.
"""
import torch

from mmvidseg.models.layers import NeighborConnectionDecoder

from .._sali_fill import assert_summary, fill_like_sali_, seeded_randn

GOLDEN_EVAL = [-628.3220381, 810.607945, -0.2359054983, -0.1660608202,
               -0.3002074659, -0.2339211851]
GOLDEN_TRAIN = [-332.4838454, 2523.097423, -0.4164801538, -0.07661024481,
                -0.7648273706, -0.3672868013]


@torch.no_grad()
def test_golden_eval_and_train():
    m = fill_like_sali_(
        NeighborConnectionDecoder(32), 'decode_head.decoder.ncd.')
    f1, f2, f3 = [
        seeded_randn(2, 32, s, s, seed=3 + i)
        for i, s in enumerate((40, 20, 10))
    ]
    m.eval()
    out = m(f3, f2, f1)
    assert out.shape == (2, 1, 40, 40)
    assert_summary(out, GOLDEN_EVAL)
    m.train()
    assert_summary(m(f3, f2, f1), GOLDEN_TRAIN)


def test_backward():
    m = NeighborConnectionDecoder(8)
    xs = [torch.randn(1, 8, s, 2 * s, requires_grad=True) for s in (2, 4, 8)]
    out = m(*xs)
    assert out.shape == (1, 1, 8, 16)
    out.sum().backward()
    assert all(x.grad.abs().sum() > 0 for x in xs)
