"""StructureLoss: golden values of SALI's structure_loss (plain-mean BCE
quirk), the weighted-BCE option, reductions, errors, backward.

Golden values: ``structure_loss`` of the original SALI ``train_video.py``
(github Scatteredrain/SALI, commit c760e64) run by
``/tmp/h1_golden/golden_modules.py`` (keys ``structure_loss/*``).
"""
import pytest
import torch
import torch.nn.functional as F

from mmvidseg.registry import MODELS

from .._sali_fill import seeded_randn

GOLDEN_BINARY = 2.141397238
GOLDEN_SOFT = 2.008843184


def _inputs():
    pred = seeded_randn(3, 1, 40, 36, seed=21) * 3
    gt = (seeded_randn(3, 1, 40, 36, seed=22) > 0.3).float()
    gt[1] = 0  # an empty mask
    soft = torch.rand((3, 1, 40, 36),
                      generator=torch.Generator().manual_seed(23))
    return pred, gt, soft


def test_golden_plain_mean_bce():
    loss = MODELS.build(dict(type='StructureLoss'))
    pred, gt, soft = _inputs()
    assert loss(pred, gt).item() == pytest.approx(GOLDEN_BINARY, rel=1e-6)
    assert loss(pred, soft).item() == pytest.approx(GOLDEN_SOFT, rel=1e-6)
    assert loss.loss_name == 'loss_structure'
    # (N, H, W) targets are accepted
    assert loss(pred, gt[:, 0]).item() == pytest.approx(GOLDEN_BINARY,
                                                        rel=1e-6)


def _reference(pred, gt, weighted):
    """Per-sample loop, written from the F3Net formulas."""
    total = 0.
    for p, g in zip(pred, gt):
        w = 1 + 5 * (F.avg_pool2d(g[None], 31, 1, 15)[0] - g).abs()
        bce = F.binary_cross_entropy_with_logits(p, g, reduction='none')
        bce = (w * bce).sum() / w.sum() if weighted else \
            F.binary_cross_entropy_with_logits(pred, gt)
        s = torch.sigmoid(p)
        inter = (w * s * g).sum()
        union = (w * (s + g)).sum()
        total = total + bce + 1 - (inter + 1) / (union - inter + 1)
    return total / len(pred)


@pytest.mark.parametrize('weighted', [False, True])
def test_matches_reference(weighted):
    pred, gt, _ = _inputs()
    loss = MODELS.build(
        dict(type='StructureLoss', weighted_bce=weighted, loss_weight=2.0,
             loss_name='loss_s3'))
    expected = 2.0 * _reference(pred, gt, weighted)
    torch.testing.assert_close(loss(pred, gt), expected)
    assert loss.loss_name == 'loss_s3'


def test_weighted_differs_and_backward():
    pred, gt, _ = _inputs()
    pred.requires_grad_()
    plain = MODELS.build(dict(type='StructureLoss'))(pred, gt)
    weighted = MODELS.build(dict(type='StructureLoss',
                                 weighted_bce=True))(pred, gt)
    assert abs(plain.item() - weighted.item()) > 1e-3
    weighted.backward()
    assert pred.grad.abs().sum() > 0


def test_shape_errors():
    loss = MODELS.build(dict(type='StructureLoss'))
    with pytest.raises(ValueError, match='same shape'):
        loss(torch.zeros(2, 1, 8, 8), torch.zeros(2, 1, 8, 9))
    with pytest.raises(ValueError, match='same shape'):
        loss(torch.zeros(2, 8, 8), torch.zeros(2, 8, 8))
