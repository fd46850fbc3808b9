"""OhemCrossEntropyLoss: hand-computed branches, golden values of MS-TFAL's
``OhemCELoss2D``, ignore index, errors, backward.

Golden values: the ORIGINAL ``OhemCELoss2D`` (github BeileiCui/MS-TFAL,
commit 538475e, ``utils/losses.py``) run on CPU by
``/tmp/m2_golden/run_golden.py`` on the seeded inputs of :func:`_inputs`.
"""
import math

import pytest
import torch

from mmvidseg.registry import MODELS


def _two_class(margins):
    """Logits (1, 2, 1, n) whose true class (0) leads by ``margins``."""
    margins = torch.tensor(margins, dtype=torch.float32)
    logits = torch.stack([margins, torch.zeros_like(margins)])
    label = torch.zeros(1, 1, len(margins), dtype=torch.long)
    return logits.reshape(1, 2, 1, -1), label


def test_hand_computed_branches():
    # CE = ln(1 + e^-d): [ln 2, ln(1 + e), ~0, ~0]; -ln .7 = .357
    logits, label = _two_class([0., -1., 10., 10.])
    ce = [math.log(2), math.log(1 + math.e), math.log1p(math.exp(-10))]
    # n_min = 1: loss[1] = ln 2 > .357 -> mean of all losses above .357
    loss = MODELS.build(dict(type='OhemCrossEntropyLoss', n_min=1))
    assert loss(logits, label).item() == pytest.approx((ce[0] + ce[1]) / 2)
    assert loss.loss_name == 'loss_ohem'
    # n_min = 3: loss[3] ~ 0 -> mean of the 3 largest
    loss = MODELS.build(dict(type='OhemCrossEntropyLoss', n_min=3,
                             loss_weight=2.))
    assert loss(logits, label).item() == pytest.approx(
        2 * (ce[0] + ce[1] + ce[2]) / 3, rel=1e-6)
    # thresh .4: -ln .4 = .916 > ln 2 -> only the top n_min = 1
    loss = MODELS.build(dict(type='OhemCrossEntropyLoss', n_min=1,
                             thresh=.4))
    assert loss(logits, label).item() == pytest.approx(ce[1])


def _inputs():
    g = torch.Generator().manual_seed(7)
    logits = torch.randn(2, 5, 16, 20, generator=g) * 2
    labels = torch.randint(0, 5, (2, 16, 20), generator=g)
    return logits, labels


def test_golden_original():
    logits, labels = _inputs()
    loss = MODELS.build(dict(type='OhemCrossEntropyLoss', n_min=40))
    assert loss(logits, labels).item() == pytest.approx(3.087357759475708,
                                                        rel=1e-6)
    # mostly easy pixels (167 hard < n_min): the top-n_min branch
    easy = logits.scatter_add(1, labels[:, None],
                              torch.full((2, 1, 16, 20), 8.0))
    easy[:, :, :4] = logits[:, :, :4]
    loss = MODELS.build(dict(type='OhemCrossEntropyLoss', n_min=200))
    assert loss(easy, labels).item() == pytest.approx(2.501512050628662,
                                                      rel=1e-6)
    # ignored pixels (-1) count as zero losses in the top n_min
    ignored = labels.clone()
    ignored[:, :8] = -1
    loss = MODELS.build(dict(type='OhemCrossEntropyLoss', n_min=400,
                             ignore_index=-1))
    assert loss(logits, ignored).item() == pytest.approx(2.415389060974121,
                                                         rel=1e-6)
    # the same through the decode-head argument
    loss = MODELS.build(dict(type='OhemCrossEntropyLoss', n_min=400))
    assert loss(logits, ignored, ignore_index=-1).item() == pytest.approx(
        2.415389060974121, rel=1e-6)


def test_backward_and_errors():
    logits, labels = _inputs()
    logits.requires_grad_(True)
    loss = MODELS.build(dict(type='OhemCrossEntropyLoss', n_min=40))
    loss(logits, labels).backward()
    assert logits.grad is not None and logits.grad.abs().sum() > 0
    with pytest.raises(ValueError, match='n_min'):
        MODELS.build(dict(type='OhemCrossEntropyLoss', n_min=640))(
            logits, labels)
    with pytest.raises(ValueError, match=r'\(N, K, H, W\)'):
        loss(logits, labels[:, :3])
    with pytest.raises(NotImplementedError):
        loss(logits, labels, weight=torch.ones_like(labels))
    with pytest.raises(ValueError, match='thresh'):
        MODELS.build(dict(type='OhemCrossEntropyLoss', thresh=0.))


def _theseus_inputs():
    g = torch.Generator().manual_seed(2)
    logits = torch.randn(2, 5, 8, 8, generator=g) * 2
    labels = torch.randint(0, 5, (2, 8, 8), generator=g)
    labels[0, :2] = 255
    return logits, labels


@pytest.mark.parametrize('thresh, expected', [
    (0.5, 3.357123613357544), (0.7, 3.3011770248413086),
    (0.05, 4.65708589553833)])
def test_golden_theseus_n_min_divisor(thresh, expected):
    """``n_min = #non-ignored // 16`` as theseus v1.0.1 ``OhemCELoss``.

    Golden: kaylode/theseus tag v1.0.1
    ``theseus/semantic/losses/ce_loss.py`` ``OhemCELoss(thresh=t)`` (ignore
    label 255, cuda helper stubbed) on these seeded inputs, run on CPU by
    ``/tmp/cps_orig/run/golden.py``.
    """
    logits, labels = _theseus_inputs()
    loss = MODELS.build(dict(type='OhemCrossEntropyLoss', thresh=thresh,
                             n_min_divisor=16, ignore_index=255))
    assert loss(logits, labels).item() == pytest.approx(expected, rel=1e-6)
    # the fixed n_min of the same value agrees ((128 - 16) // 16 = 7)
    fixed = MODELS.build(dict(type='OhemCrossEntropyLoss', thresh=thresh,
                              n_min=7))
    assert fixed(logits, labels, ignore_index=255).item() == pytest.approx(
        expected, rel=1e-6)


def test_golden_theseus_mostly_easy():
    # few hard pixels: the top-n_min branch (theseus golden, as above)
    logits, labels = _theseus_inputs()
    easy = logits.scatter(1, labels.clamp(max=4)[:, None], 6.0)
    loss = MODELS.build(dict(type='OhemCrossEntropyLoss', thresh=0.5,
                             n_min_divisor=16))
    assert loss(easy, labels, ignore_index=255).item() == pytest.approx(
        0.4164274036884308, rel=1e-6)
    with pytest.raises(ValueError, match='n_min_divisor'):
        MODELS.build(dict(type='OhemCrossEntropyLoss', n_min_divisor=0))
