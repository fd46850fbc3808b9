"""TFAL (MS-TFAL temporal feature affinity): hand-computed values, golden
values of the original, noise selection, weights, chunking and no-grad.

Golden values: the ORIGINAL ``TFAL_get_affinity`` / ``TFAL_select_Mask`` /
``TFAL_select_Mask_test`` of github BeileiCui/MS-TFAL, commit 538475e
(``net/Ours/TFAL_Module.py``), adapted only to run on CPU (``.cuda()``
removed, ``np.int`` -> ``int``), run by ``/tmp/m2_golden/run_golden.py`` on
the seeded inputs of :func:`_golden_inputs`.
"""
import math
import time

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mmvidseg.models.utils import (TFALAffinity, confidence_map, image_weight,
                                   select_noise, tfal_affinity,
                                   video_reliability)


def _feat(*vectors):
    """(C,) vectors of one frame -> (C, 1, n) feature map (h=1, w=n)."""
    return torch.tensor(vectors, dtype=torch.float32).t().unsqueeze(1)


def test_hand_built_values():
    # frame 0: class 2 exists only in frame t; M+ S has an exact zero
    # frame 1: one class only in both frames -> no negative pixel
    feat = torch.stack([_feat([1, 0], [0, 1], [.6, .8]),
                        _feat([1, 0], [0, 1], [-1, 0])])
    feat_prev = torch.stack([_feat([1, 0], [0, 1], [.6, .8]),
                             _feat([0, 1], [0, 1], [1, 0])])
    label = torch.tensor([[[0, 1, 2]], [[3, 3, 3]]])
    label_prev = torch.tensor([[[0, 0, 1]], [[3, 3, 3]]])
    aff = tfal_affinity(feat, feat_prev, label, label_prev, num_classes=4)
    # S[0] = [[1, 0, .6], [0, 1, .8], [.6, .8, 1]]
    # a_p: px0 same-class S = (1, 0): the exact 0 is not counted -> 1 / 1;
    #      px1 -> .8; px2 (class 2 absent from t-1) -> NaN -> 0
    # a_n: px0 -> .6; px1 (0, 1) -> 1 / 1; px2 (.6, .8, 1) / 3 = .8
    # S[1] = [[0, 0, 1], [1, 1, 0], [0, 0, -1]], all same class
    assert aff.pos.shape == aff.neg.shape == (2, 1, 3)
    torch.testing.assert_close(
        aff.pos, torch.tensor([[[1., .8, 0.]], [[1., 1., -1.]]]))
    torch.testing.assert_close(
        aff.neg, torch.tensor([[[.6, 1., .8]], [[0., 0., 0.]]]))
    # frame means skip the zeros: (1 + .8) / 2; (1 + 1 - 1) / 3
    torch.testing.assert_close(aff.pos_mean, torch.tensor([.9, 1 / 3]))
    # no non-zero a_n in frame 1: 0 / 0 = NaN, as the original
    assert aff.neg_mean[0].item() == pytest.approx(.8)
    assert math.isnan(aff.neg_mean[1].item())
    filled = tfal_affinity(feat, feat_prev, label, label_prev, 4,
                           empty_value=0.)
    torch.testing.assert_close(filled.neg_mean, torch.tensor([.8, 0.]))
    torch.testing.assert_close(filled.pos_mean, aff.pos_mean)
    # confidence a_p + 1 - a_n
    torch.testing.assert_close(
        confidence_map(aff), torch.tensor([[[1.4, .8, .2]], [[2., 2., 0.]]]))


def test_cancelling_sum_and_no_shared_class():
    # px0: same-class S = (.6, -.6) sums to exactly 0 -> a_p = 0 and it is
    # left out of the frame mean; px0 has no non-zero M- S -> a_n = 0
    feat = _feat([1, 0], [0, 1]).unsqueeze(0)
    feat_prev = _feat([.6, .8], [-.6, .8], [0, 1]).unsqueeze(0)
    feat = torch.cat([feat, torch.zeros(1, 2, 1, 1)], dim=3)
    label = torch.tensor([[[0, 1, 1]]])
    label_prev = torch.tensor([[[0, 0, 1]]])
    aff = tfal_affinity(feat, feat_prev, label, label_prev, 2)
    # px2 has a zero embedding: every product is 0 -> a_p = a_n = 0
    torch.testing.assert_close(aff.pos, torch.tensor([[[0., 1., 0.]]]))
    torch.testing.assert_close(aff.neg, torch.tensor([[[0., .8, 0.]]]))
    torch.testing.assert_close(aff.pos_mean, torch.tensor([1.]))
    torch.testing.assert_close(aff.neg_mean, torch.tensor([.8]))
    # the two frames share no class: every a_p = 0 -> pos_mean NaN
    aff = tfal_affinity(feat, feat_prev, torch.zeros_like(label),
                        torch.ones_like(label_prev), 2)
    assert (aff.pos == 0).all() and math.isnan(aff.pos_mean.item())


def _golden_inputs():
    g = torch.Generator().manual_seed(2023)
    f1 = F.normalize(torch.randn(2, 16, 8, 10, generator=g), dim=1)
    f2 = F.normalize(torch.randn(2, 16, 8, 10, generator=g), dim=1)
    l1 = torch.randint(0, 4, (2, 8, 10), generator=g)
    l2 = torch.randint(0, 4, (2, 8, 10), generator=g)
    return f1, f2, l1, l2


def test_golden_affinity():
    aff = tfal_affinity(*_golden_inputs(), num_classes=4)
    torch.testing.assert_close(
        aff.pos_mean, torch.tensor([-0.0022823484614491463,
                                    -0.0036563226021826267]),
        rtol=1e-5, atol=1e-8)
    torch.testing.assert_close(
        aff.neg_mean, torch.tensor([0.003685216186568141,
                                    -0.005398876033723354]),
        rtol=1e-5, atol=1e-8)
    assert aff.pos.double().sum().item() == pytest.approx(
        -0.47509366562007926, abs=1e-6)
    assert aff.neg.double().sum().item() == pytest.approx(
        -0.1370928604155779, abs=1e-6)
    torch.testing.assert_close(
        aff.pos[0].flatten()[:4],
        torch.tensor([-0.02422907203435898, -0.03420548141002655,
                      -0.014169291593134403, 0.04882536083459854]))
    torch.testing.assert_close(
        aff.neg[1].flatten()[-4:],
        torch.tensor([-0.024275774136185646, -0.035553429275751114,
                      0.009660017676651478, 0.00638198759406805]))


# original TFAL_select_Mask(..., H=64, W=80): per frame, number of selected
# pixels and the sum of their flat indices
GOLDEN_MASKS = {
    'intersection': ([407, 469], [1254477, 1409805]),
    'union': ([2665, 2603], [7434936, 5827213]),
    'p': ([1536, 1536], [4496483, 3533228]),
    'n': ([1536, 1536], [4192930, 3703790]),
}


@pytest.mark.parametrize('mode', sorted(GOLDEN_MASKS))
def test_golden_select_noise(mode):
    aff = tfal_affinity(*_golden_inputs(), num_classes=4)
    mask = select_noise(aff, (64, 80), mode=mode)
    assert mask.shape == (2, 64, 80) and mask.dtype == torch.bool
    flat = mask.reshape(2, -1).long()
    count, index_sum = GOLDEN_MASKS[mode]
    assert flat.sum(1).tolist() == count
    assert (flat * torch.arange(64 * 80)).sum(1).tolist() == index_sum


def test_golden_confidence_map():
    aff = tfal_affinity(*_golden_inputs(), num_classes=4)
    conf = confidence_map(aff, (64, 80)).reshape(2, -1)
    assert conf.double().sum().item() == pytest.approx(10218.367951571941,
                                                       abs=1e-3)
    torch.testing.assert_close(
        conf[0, :5], torch.tensor([1.008662462234497] * 4 +
                                  [1.0013381242752075]))
    torch.testing.assert_close(conf[1, -3:],
                               torch.tensor([0.9529389142990112] * 3))


def test_select_noise_by_hand():
    pos = torch.tensor([[[.1, .5], [.3, .9]]])
    neg = torch.tensor([[[.2, .7], [.8, .1]]])
    aff = TFALAffinity(pos, neg, pos.mean((1, 2)), neg.mean((1, 2)))
    # K = int(.5 * 4) = 2; lowest a_p: {0, 2}; highest a_n: {2, 1}
    expected = {'p': [1, 0, 1, 0], 'n': [0, 1, 1, 0],
                'intersection': [0, 0, 1, 0], 'union': [1, 1, 1, 0]}
    for mode, flat in expected.items():
        mask = select_noise(aff, (2, 2), ratio=.5, mode=mode)
        assert mask.flatten().tolist() == [bool(v) for v in flat], mode
    assert not select_noise(aff, (2, 2), ratio=0.).any()
    with pytest.raises(ValueError, match='mode'):
        select_noise(aff, (2, 2), mode='both')
    with pytest.raises(ValueError, match='ratio'):
        select_noise(aff, (2, 2), ratio=1.5)


def test_upsampling_is_bilinear_half_pixel():
    # [0, 1] -> 4 columns, align_corners=False: 0, .25, .75, 1
    aff = TFALAffinity(torch.tensor([[[0., 1.]]]), torch.zeros(1, 1, 2),
                       torch.zeros(1), torch.zeros(1))
    torch.testing.assert_close(confidence_map(aff, (1, 4)),
                               torch.tensor([[[1., 1.25, 1.75, 2.]]]))


def test_image_weight():
    pos_mean = torch.tensor([.5, .7])
    neg_mean = torch.tensor([.1, .3])
    weight = image_weight(pos_mean, neg_mean, p_thr=.4, n_thr=.5)
    # mean(p + 1 - n) = 1.4 -> exp(2 * (1.4 - .9)) = e
    assert weight.dim() == 0 and weight.dtype == torch.float32
    assert weight.item() == pytest.approx(math.e, rel=1e-6)
    # the original's form 1 / exp(-(q - (p_thr + n_thr)))**2
    assert weight.item() == pytest.approx(
        1 / math.exp(-(1.4 - .9))**2, rel=1e-6)
    nan = image_weight(torch.tensor([.5, float('nan')]), neg_mean, .4, .5)
    assert math.isnan(nan.item())


def test_video_reliability_by_hand():
    out = video_reliability(
        pos_sum=[1., 2., .5, 3.], neg_sum=[.5, .2, 1., .3],
        count=[2, 4, 2, 4], weights=[.4, .6, .8, 1.], num_uncertain=2)
    # r = [1.25, 1.45, .75, 1.675] -> ascending order 2, 0, 1, 3
    torch.testing.assert_close(
        out.reliability, torch.tensor([1.25, 1.45, .75, 1.675],
                                      dtype=torch.float64))
    assert out.weights.tolist() == pytest.approx([.6, .8, .4, 1.])
    assert out.uncertain.tolist() == [2, 0]
    assert out.p_thr == pytest.approx(.5)
    assert out.n_thr == pytest.approx((.75 + .95 + .5 + .925) / 4)


def test_video_reliability_ties_nan_and_numpy():
    # ties keep the video order, NaN (count 0) sorts last
    out = video_reliability([1., 1., 0., 1.], [0., 0., 0., 0.],
                            [1., 1., 0., 1.], [.1, .2, .3, .4], 3)
    assert out.uncertain.tolist() == [0, 1, 3]
    assert out.weights.tolist() == pytest.approx([.1, .2, .4, .3])
    assert math.isnan(out.p_thr)
    # EndoVis18: 15 videos, as numpy argsort ranks them
    rng = np.random.default_rng(0)
    count = rng.integers(100, 150, 15).astype(float)
    pos_sum = rng.uniform(.1, .5, 15) * count
    neg_sum = rng.uniform(.0, .3, 15) * count
    weight = np.array([.4, .4, .4, .4, .4, .5, .6, .7, .8, .9, 1, 1, 1, 1,
                       1])
    out = video_reliability(torch.from_numpy(pos_sum), neg_sum, count,
                            weight, 3)
    order = np.argsort((pos_sum + count - neg_sum) / count)
    expected = np.zeros(15)
    expected[order] = weight
    assert out.weights.numpy().tolist() == expected.tolist()
    assert out.uncertain.tolist() == order[:3].tolist()
    assert out.p_thr == pytest.approx(np.mean(pos_sum / count))
    with pytest.raises(ValueError, match='one value per video'):
        video_reliability([1.], [1., 2.], [1.], [1.], 0)
    with pytest.raises(ValueError, match='num_uncertain'):
        video_reliability([1.], [1.], [1.], [1.], 2)


def _dense_reference(feat, feat_prev, label, label_prev):
    """Direct (B, hw, hw) formula of the maths, for comparison."""
    b, c = feat.shape[:2]
    sim = feat.reshape(b, c, -1).transpose(1, 2) @ feat_prev.reshape(b, c,
                                                                     -1)
    same = (label.reshape(b, -1, 1) == label_prev.reshape(b, 1, -1)).float()
    out = []
    for mask in (same, 1 - same):
        prod = mask * sim
        value = torch.nan_to_num(prod.sum(2) / (prod != 0).sum(2))
        out.append(value)
    return out


def test_chunking_matches_dense_and_is_batched(monkeypatch):
    g = torch.Generator().manual_seed(0)
    feat = F.normalize(torch.randn(2, 8, 6, 7, generator=g), dim=1)
    feat_prev = F.normalize(torch.randn(2, 8, 6, 7, generator=g), dim=1)
    feat_prev[:, :, 0] = 0  # exact zeros in S
    label = torch.randint(0, 3, (2, 6, 7), generator=g)
    label_prev = torch.randint(0, 3, (2, 6, 7), generator=g)
    pos, neg = _dense_reference(feat, feat_prev, label, label_prev)
    calls = []
    bmm = torch.bmm
    monkeypatch.setattr(torch, 'bmm',
                        lambda *a: calls.append(1) or bmm(*a))
    for max_block in (1, 2 * 42 * 5, 10**9):  # rows 1, 5 (uneven), all
        calls.clear()
        aff = tfal_affinity(feat, feat_prev, label, label_prev, 3,
                            max_block=max_block)
        torch.testing.assert_close(aff.pos.reshape(2, -1), pos)
        torch.testing.assert_close(aff.neg.reshape(2, -1), neg)
        rows = max(1, max_block // 84)
        assert len(calls) == 3 * math.ceil(42 / rows)


def test_realistic_size_fast_and_no_grad():
    # 256 x 320 input -> 32 x 40 embeddings; one chunk, no pixel loop
    g = torch.Generator().manual_seed(1)
    feat = F.normalize(torch.randn(2, 64, 32, 40, generator=g), dim=1)
    feat.requires_grad_(True)
    label = torch.randint(0, 12, (2, 32, 40), generator=g)
    start = time.perf_counter()
    aff = tfal_affinity(feat, feat.detach().flip(0), label, label.flip(0),
                        12)
    assert time.perf_counter() - start < 10  # ~0.05 s on 2 CPU cores
    assert not aff.pos.requires_grad and not aff.pos_mean.requires_grad
    mask = select_noise(aff, (256, 320))
    assert mask.shape == (2, 256, 320)
    assert torch.isfinite(aff.pos_mean).all()


def test_bad_input():
    feat = torch.zeros(1, 2, 2, 2)
    label = torch.zeros(1, 2, 2, dtype=torch.long)
    with pytest.raises(ValueError, match='feat and feat_prev'):
        tfal_affinity(feat, torch.zeros(1, 2, 2, 3), label, label, 2)
    with pytest.raises(ValueError, match='label_prev must have shape'):
        tfal_affinity(feat, feat, label, label[:, :1], 2)
    with pytest.raises(ValueError, match=r'label values must lie in \[0, 2'):
        tfal_affinity(feat, feat, label + 2, label, 2)
