"""VPS measures: hand-derived values, definitions written in the test,
pysodmetrics run directly, the toolbox's edge cases and its aggregation."""
import warnings

import numpy as np
import py_sod_metrics
import pytest

from mmvidseg.evaluation.functional import (CURVE_KEYS, MEDICAL_THRESHOLDS,
                                            VPS_KEYS, aggregate_cases,
                                            case_measures, evaluate_vps,
                                            frame_measures, medical_curves,
                                            natural_key, prepare_frame,
                                            s_measure, summarize)

EPS = np.spacing(1)


def block_gt(h=5, w=6):
    """0/255 mask with a 3x3 object at rows 1..3, cols 1..3 (9 of 30 px)."""
    gt = np.zeros((h, w), np.uint8)
    gt[1:4, 1:4] = 255
    return gt


def random_pair(seed, h=23, w=31):
    rng = np.random.default_rng(seed)
    gt = np.zeros((h, w), np.uint8)
    y, x = rng.integers(2, 8, size=2)
    gt[y:y + 9, x:x + 12] = 255
    pred = np.clip(rng.normal(60, 40, (h, w)) + (gt > 0) * 90, 0, 255)
    return pred.astype(np.uint8), gt


def test_perfect_prediction_by_hand():
    gt = block_gt()
    m = frame_measures(gt.copy(), gt)
    # S: every object/background region is constant 1, every quadrant
    # (centroid (2, 2) -> split after row 3 / col 3) has pred == gt
    assert m['Smeasure'] == pytest.approx(1, abs=1e-12)
    # E at thresholds 255..1: binary pred == gt, every pixel aligned
    # (value 1), sum 30 over N - 1 = 29; threshold 0: all positive, the
    # demeaned prediction is 0 -> (0 + 1)^2 / 4 per pixel
    np.testing.assert_allclose(m['Em'][:255], 30 / 29, rtol=1e-12)
    assert m['Em'][255] == pytest.approx(7.5 / 29)
    assert m['wFmeasure'] == pytest.approx(1, abs=1e-12)
    # F (beta^2 0.3): 1, except at threshold 0: P = 9/30, R = 1
    np.testing.assert_allclose(m['Fm'][:255], 1)
    assert m['Fm'][255] == pytest.approx(1.3 * 0.3 / (0.3 * 0.3 + 1))
    assert m['MAE'] == 0
    # Medical at linspace(1, 0, 256): pred in {0, 1}; only t = 0 takes all
    for key in ('Sen', 'Spe', 'Dice', 'IoU'):
        np.testing.assert_array_equal(m[key][:255], 1)
    assert (m['Sen'][255], m['Spe'][255]) == (1, 0)
    assert m['Dice'][255] == pytest.approx(18 / 39)
    assert m['IoU'][255] == pytest.approx(9 / 30)
    table = summarize(m)
    assert table['maxEm'] == pytest.approx(30 / 29)
    assert table['meanEm'] == pytest.approx((255 * 30 + 7.5) / 29 / 256)
    assert table['meanDice'] == pytest.approx((255 + 18 / 39) / 256)


def test_empty_and_full_ground_truth_quirks():
    zero = np.zeros((6, 7), np.uint8)
    m = frame_measures(zero, zero)  # empty gt, constant prediction 0
    assert m['Smeasure'] == 1 and m['wFmeasure'] == 0 and m['MAE'] == 0
    np.testing.assert_allclose(m['Em'][:255], 42 / 41)  # all negatives
    assert m['Em'][255] == 0
    np.testing.assert_array_equal(m['Fm'], 0)
    for key in ('Sen', 'Spe', 'Dice', 'IoU'):  # no true positive -> 0
        np.testing.assert_array_equal(m[key], 0)

    pred = np.arange(42, dtype=np.uint8).reshape(6, 7) * 6
    full = frame_measures(pred, zero + 255)
    assert full['Smeasure'] == pytest.approx(np.mean(pred / pred.max()))
    # specificity TN / (TN + FP) = 0 / 0 wherever there is a true positive
    # (every threshold: the normalised maximum is 1)
    assert np.isnan(full['Spe']).all()
    above = pred[None] / pred.max() >= MEDICAL_THRESHOLDS[:, None, None]
    np.testing.assert_allclose(full['Sen'], above.mean(axis=(1, 2)))
    assert np.isnan(summarize(full)['meanSpe'])


def test_s_measure_nan_becomes_zero_and_constant_prediction():
    gt = np.zeros((6, 7), bool)
    gt[2, 3] = True  # one-pixel object: std with ddof=1 is NaN
    pred = np.linspace(0, 1, 42).reshape(6, 7)
    assert s_measure(pred, gt) == 0.0
    sod = py_sod_metrics.Smeasure()  # pysodmetrics sets that std to 0
    sod.step(pred, gt, normalize=False)
    assert sod.get_results()['sm'] > 0.1
    gt = np.zeros((6, 7), bool)
    gt[:, 6] = True  # centroid on the last column: empty quadrants
    assert s_measure(pred, gt) == 0.0
    # a constant prediction is not min-max normalised
    p, g = prepare_frame(np.full((4, 4), 51, np.uint8), block_gt(4, 4))
    np.testing.assert_array_equal(p, 0.2)
    assert g.sum() == 9


def reference_s_measure(pred, gt):
    """S-measure (alpha 0.5) from its definition, non-degenerate maps."""
    y = gt.mean()

    def obj(v):
        return 2 * v.mean() / (v.mean()**2 + 1 + v.std(ddof=1) + EPS)

    o = y * obj(pred[gt]) + (1 - y) * obj(1 - pred[~gt])
    rows, cols = np.nonzero(gt)
    cy, cx = int(np.round(rows.mean())) + 1, int(np.round(cols.mean())) + 1
    r = 0.0
    for sy in (slice(0, cy), slice(cy, None)):
        for sx in (slice(0, cx), slice(cx, None)):
            p, g = pred[sy, sx], gt[sy, sx].astype(float)
            n = p.size
            cov = np.cov(np.stack([p.ravel(), g.ravel()]))
            a = 4 * p.mean() * g.mean() * cov[0, 1]
            b = (p.mean()**2 + g.mean()**2) * (cov[0, 0] + cov[1, 1])
            r += n / gt.size * (a / (b + EPS) if a != 0 else float(b == 0))
    return max(0.0, 0.5 * o + 0.5 * r)


def reference_e_measure(pred_u8, gt, threshold):
    """E-measure of ``pred >= threshold`` from the per-pixel definition."""
    fm = (pred_u8 >= threshold).astype(float)
    g = gt.astype(float)
    dfm, dgt = fm - fm.mean(), g - g.mean()
    align = 2 * dfm * dgt / (dfm**2 + dgt**2 + EPS)
    return np.sum((align + 1)**2 / 4) / (gt.size - 1 + EPS)


def reference_medical(pred, gt):
    """Sen/Spe/Dice/IoU per threshold, loop over the 256 thresholds."""
    out = {k: [] for k in ('Sen', 'Spe', 'Dice', 'IoU')}
    for t in MEDICAL_THRESHOLDS:
        pos = pred >= t
        tp = np.sum(pos & gt)
        fp, fn = np.sum(pos & ~gt), np.sum(~pos & gt)
        tn = np.sum(~pos & ~gt)
        ok = tp > 0
        out['Sen'].append(tp / gt.sum() if ok else 0)
        out['Spe'].append(tn / (tn + fp) if ok else 0)
        out['Dice'].append(2 * tp / (2 * tp + fp + fn) if ok else 0)
        out['IoU'].append(tp / (tp + fp + fn) if ok else 0)
    return {k: np.array(v) for k, v in out.items()}


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_definitions_written_here(seed):
    pred_u8, gt_u8 = random_pair(seed)
    m = frame_measures(pred_u8, gt_u8)
    pred, gt = prepare_frame(pred_u8, gt_u8)
    assert m['Smeasure'] == pytest.approx(reference_s_measure(pred, gt),
                                          rel=1e-12)
    quant = (pred * 255).astype(np.uint8)
    for th in (255, 200, 128, 37, 1, 0):
        assert m['Em'][255 - th] == pytest.approx(
            reference_e_measure(quant, gt, th), rel=1e-12), th
    expected = reference_medical(pred, gt)
    for key, curve in expected.items():
        np.testing.assert_allclose(m[key], curve, rtol=1e-12, err_msg=key)
    assert m['MAE'] == pytest.approx(np.abs(pred - gt).mean())


@pytest.mark.parametrize('seed', [3, 4])
def test_pysodmetrics_directly(seed):
    """The issue's check: the same measures computed with pysodmetrics."""
    pred_u8, gt_u8 = random_pair(seed, 40, 52)
    m = frame_measures(pred_u8, gt_u8)
    sm, em, wfm = (py_sod_metrics.Smeasure(), py_sod_metrics.Emeasure(),
                   py_sod_metrics.WeightedFmeasure())
    mae = py_sod_metrics.MAE()
    with warnings.catch_warnings():  # deprecated class, the toolbox's code
        warnings.simplefilter('ignore')
        fm = py_sod_metrics.Fmeasure()
    for metric in (sm, em, wfm, mae, fm):
        metric.step(pred_u8, gt_u8)  # pysodmetrics' own normalisation
    assert m['Smeasure'] == pytest.approx(sm.get_results()['sm'], rel=1e-12)
    assert m['wFmeasure'] == pytest.approx(wfm.get_results()['wfm'],
                                           rel=1e-12)
    assert m['MAE'] == pytest.approx(mae.get_results()['mae'], rel=1e-12)
    np.testing.assert_allclose(m['Em'], em.get_results()['em']['curve'],
                               rtol=1e-12)
    np.testing.assert_allclose(m['Fm'], fm.get_results()['fm']['curve'],
                               rtol=1e-12)


def curves(value, peak):
    """A fake frame: scalars ``value``, curves 0 except 1 at ``peak``."""
    frame = dict(Smeasure=value, wFmeasure=value, MAE=value)
    for key in CURVE_KEYS:
        frame[key] = np.zeros(256)
        frame[key][peak] = 1.0
    return frame


def test_case_drops_first_and_last_and_curves_max_after_averaging():
    frames = [curves(100.0, 0), curves(0.2, 3), curves(0.4, 3),
              curves(-100.0, 9)]
    case = case_measures(frames)
    assert case['Smeasure'] == pytest.approx(0.3)
    np.testing.assert_array_equal(np.nonzero(case['Dice'])[0], [3])
    with pytest.raises(ValueError, match='at least 3 frames'):
        case_measures(frames[:2])
    other = case_measures([curves(0, 0), curves(0.6, 5), curves(0, 0)])
    table = aggregate_cases({'a': case, 'b': other})
    assert list(table) == list(VPS_KEYS)
    assert table['Smeasure'] == pytest.approx(0.45)
    # max of the case-averaged curve (0.5), not the mean of the maxima (1)
    assert table['maxDice'] == pytest.approx(0.5)
    assert table['meanDice'] == pytest.approx(1 / 256)
    with pytest.raises(ValueError, match='no case'):
        aggregate_cases({})


def test_evaluate_vps_and_natural_order():
    pairs = [random_pair(s) for s in range(4)]
    overall, per_case = evaluate_vps({'c': pairs})
    mid = [frame_measures(p, g) for p, g in pairs[1:3]]
    assert overall['Smeasure'] == pytest.approx(
        np.mean([f['Smeasure'] for f in mid]))
    assert per_case['c'] == overall
    names = ['10.png', '9.png', 'case2_a1_image0010.png',
             'case2_a1_image0009.png', 'case10_a1_image0001.png']
    assert sorted(names, key=natural_key) == [
        '9.png', '10.png', 'case2_a1_image0009.png',
        'case2_a1_image0010.png', 'case10_a1_image0001.png'
    ]
    with pytest.raises(ValueError, match='one size'):
        frame_measures(np.zeros((3, 4)), np.zeros((4, 3)))


def test_medical_curves_match_loop_on_ties():
    # values exactly on thresholds (k / 255) and ties
    pred = np.repeat(np.linspace(0, 1, 256), 2).reshape(16, 32)
    gt = np.zeros((16, 32), bool)
    gt[5:12, 3:20] = True
    got = medical_curves(pred, gt)
    for key, curve in reference_medical(pred, gt).items():
        np.testing.assert_allclose(got[key], curve, rtol=1e-12, err_msg=key)
