"""ConvBN: golden values of SALI's BasicConv2d, no activation, backward.

Golden values: the original SALI code (github Scatteredrain/SALI, commit
c760e64) run on CPU by ``/tmp/h1_golden/golden_modules.py`` (key
``conv_bn``), parameters filled by ``tests/test_models/_sali_fill.py`` under
the original name ``nlnet.conv1.*``.
"""
import torch

from mmvidseg.models.layers import ConvBN

from .._sali_fill import assert_summary, fill_like_sali_, seeded_randn

GOLDEN_EVAL = [49.2369367, 2667.182441, -1.358927727, -0.7019891143,
               0.1885684431, 0.8067172766]
GOLDEN_TRAIN = [0.4549704019, 3162.036812, -1.355065823, -0.9457537532,
                0.3400549889, 0.7834221721]


def _filled():
    return fill_like_sali_(
        ConvBN(64, 32, 3, padding=1), 'decode_head.fusion.fuse_convs.0.')


@torch.no_grad()
def test_golden_eval_and_train():
    m = _filled()
    x = seeded_randn(2, 64, 9, 7, seed=1)
    m.eval()
    out = m(x)
    assert out.shape == (2, 32, 9, 7)
    assert_summary(out, GOLDEN_EVAL)
    assert (out < 0).any()  # no ReLU
    m.train()
    assert_summary(m(x), GOLDEN_TRAIN)


def test_structure_and_backward():
    m = ConvBN(4, 6, (1, 3), stride=2, padding=(0, 1), dilation=1)
    assert m.conv.bias is None
    assert [n for n, _ in m.named_children()] == ['conv', 'bn']
    x = torch.randn(2, 4, 5, 6, requires_grad=True)
    out = m(x)
    assert out.shape == (2, 6, 3, 3)
    out.square().sum().backward()
    assert x.grad.abs().sum() > 0 and m.conv.weight.grad is not None
