"""RFBBlock: golden values of SALI's RFB_modified, shapes, backward.

Golden values: the original SALI code (github Scatteredrain/SALI, commit
c760e64) run on CPU by ``/tmp/h1_golden/golden_modules.py`` (key ``rfb``),
parameters filled by ``tests/test_models/_sali_fill.py`` under
``backbone.feat_net.rfb2_1.*`` (loaded here through the converter as
``neck.blocks.0.*``).
"""
import torch

from mmvidseg.models.layers import RFBBlock

from .._sali_fill import assert_summary, fill_like_sali_, seeded_randn

GOLDEN_EVAL = [3095.819023, 3095.819023, 1.603314161, 0.9734383225,
               0.5224583149, 2.548442125]
GOLDEN_TRAIN = [4305.729438, 4305.729438, 1.912691593, 1.174073815,
                1.05362761, 2.507914066]


@torch.no_grad()
def test_golden_eval_and_train():
    m = fill_like_sali_(RFBBlock(128, 32), 'neck.blocks.0.')
    x = seeded_randn(2, 128, 12, 10, seed=2)
    m.eval()
    out = m(x)
    assert out.shape == (2, 32, 12, 10)
    assert_summary(out, GOLDEN_EVAL)
    m.train()
    assert_summary(m(x), GOLDEN_TRAIN)


def test_shapes_and_backward():
    m = RFBBlock(6, 4)
    # 1xk / kx1 kernels and dilations 3, 5, 7 keep any spatial size
    x = torch.randn(2, 6, 5, 3, requires_grad=True)
    out = m(x)
    assert out.shape == (2, 4, 5, 3)
    assert (out >= 0).all()  # final ReLU
    out.sum().backward()
    assert x.grad.abs().sum() > 0
    assert m.branch3[3].conv.dilation == (7, 7)
    assert m.branch2[1].conv.kernel_size == (1, 5)
