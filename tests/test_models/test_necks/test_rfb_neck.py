"""RFBNeck: registry build, golden values of SALI's rfb2_1 as blocks[0],
input selection, errors, backward.

Golden values: the original SALI code (github Scatteredrain/SALI, commit
c760e64) run on CPU by ``/tmp/h1_golden/golden_modules.py`` (key ``rfb``),
parameters filled by ``tests/test_models/_sali_fill.py`` under the original
names ``backbone.feat_net.rfb{2,3,4}_1.*``.
"""
import pytest
import torch

from mmvidseg.registry import MODELS

from .._sali_fill import assert_summary, fill_like_sali_, seeded_randn

GOLDEN_RFB2_EVAL = [3095.819023, 3095.819023, 1.603314161, 0.9734383225,
                    0.5224583149, 2.548442125]


@torch.no_grad()
def test_golden_and_selection():
    neck = fill_like_sali_(MODELS.build(dict(type='RFBNeck')), 'neck.')
    neck.eval()
    assert [b.conv_res.conv.in_channels for b in neck.blocks] == [128, 320,
                                                                  512]
    inputs = [
        torch.zeros(2, 64, 24, 20),
        seeded_randn(2, 128, 12, 10, seed=2),
        torch.randn(2, 320, 6, 5),
        torch.randn(2, 512, 3, 3)
    ]
    outs = neck(inputs)
    assert [o.shape for o in outs] == [(2, 32, 12, 10), (2, 32, 6, 5),
                                       (2, 32, 3, 3)]
    assert_summary(outs[0], GOLDEN_RFB2_EVAL)


def test_custom_config_backward_and_errors():
    neck = MODELS.build(
        dict(type='RFBNeck', in_channels=(4, 6), out_channels=8,
             in_index=(0, 2)))
    xs = [torch.randn(1, c, 8, 8, requires_grad=True) for c in (4, 5, 6)]
    outs = neck(xs)
    assert [o.shape for o in outs] == [(1, 8, 8, 8)] * 2
    sum(o.sum() for o in outs).backward()
    assert xs[0].grad.abs().sum() > 0 and xs[1].grad is None
    with pytest.raises(ValueError, match='at least 3 inputs'):
        neck(xs[:2])
    with pytest.raises(ValueError, match='same length'):
        MODELS.build(dict(type='RFBNeck', in_channels=(4, ), in_index=(0, 1)))
