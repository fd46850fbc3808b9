"""FLARE22 DSC / NSD rules against the official scorer and ivos' script.

Golden values, computed once outside the repository:

* official: JunMa11/FLARE aad2cc2 ``FLARE22/Evaluation/
  FLARE22_DSC_NSD_Eval.py`` (+ its ``SurfaceDice.py``), paths set to
  folders with ``synth.nii.gz`` (:func:`synthetic_case`, affine
  ``diag(SPACING)``) and ``realct.nii.gz`` (the shared CT's labels with
  FLARE ids, and :func:`eroded_labels` of them as prediction, the label
  file's header), pandas stubbed (CSV writer); ``python run_official.py``
  for the CSV (4 decimals), and the same with ``round(x, 4)`` replaced by
  ``repr(x)`` for full precision;
* method: kaylode/ivos 276ee41 ``tools/evaluation/DSC_NSD_eval.py -g gt
  -p pred`` (1 mm, full precision; tabulate / pandas stubbed).
"""
import numpy as np
import pytest

from mmvidseg.evaluation.functional import (flare_case_scores,
                                            resolve_tolerances, round_official)
from tests._flare_data import flare_label_volume
from tests.test_evaluation._flare_cases import (SPACING, eroded_labels,
                                                synthetic_case)

SYNTH_DSC = [
    0.905790838375108, 0.53125, 1.0, 0.0, 0.6666666666666666,
    0.5490196078431373, 0.18181818181818182, 1.0, 0.0, 0.4727272727272727,
    0.9546218487394958, 0.8905109489051095, 0.6027397260273972]
SYNTH_NSD = [
    1.0, 1.0, 1.0, 0.0, 1.0, 0.85047660985091, 0.0, 1.0, 0.0, 1.0, 1.0,
    0.8406971164411573, 1.0]
#: the official CSV row of synth.nii.gz (DSC columns, then NSD)
SYNTH_CSV = [
    0.9058, 0.5312, 1.0, 0, 0.6667, 0.549, 0.1818, 1, 0, 0.4727, 0.9546,
    0.8905, 0.6027, 1.0, 1.0, 1.0, 0, 1.0, 0.8505, 0, 1, 0, 1.0, 1.0,
    0.8407, 1.0]
SYNTH_IVOS_DSC = [
    0.905790838375108, 0.53125, 1.0, 0.0, 0.5252525252525253,
    0.4444444444444444, 0.18181818181818182, 1, 0, 0.4742268041237113,
    0.9546218487394958, 0.8905109489051095, 0.6027397260273972]
SYNTH_IVOS_NSD = [
    1.0, 0.6523855921212689, 1.0, 0.0, 0.5898147459915323,
    0.5121372882164723, 0.6106891883235356, 1, 0, 0.7554488628683206,
    0.9629098780559668, 0.8406971164411573, 0.7914845080581238]

REAL_DSC = [
    0.8933256946433686, 0.8033954827952099, 0.8485808259227677,
    0.45933014354066987, 0.6648005598320503, 0.710814673654121,
    0.0880503144654088, 0.1691542288557214, 0.7837591240875912, 1.0,
    0.8117931122124793, 0.6863905325443787, 0.7557962430191234]
REAL_NSD = [
    0.9992608662628856, 0.9894357140102158, 0.9909233524963641,
    0.9386764474652366, 0.3314187396191235, 0.3213440066411212, 0.0, 0.0,
    0.37683165336833624, 1.0, 0.9993480936798382, 1.0, 0.9794829047415015]
REAL_IVOS_DSC = [
    0.8933256946433686, 0.8033954827952099, 0.8485808259227677,
    0.45933014354066987, 0.6453804347826086, 0.7057710501419111,
    0.0880503144654088, 0.1691542288557214, 0.7837591240875912, 1,
    0.8117931122124793, 0.6863905325443787, 0.7557962430191234]
REAL_IVOS_NSD = [
    0.33353375215458, 0.3497679126132608, 0.3546017291795639,
    0.33979840828963775, 0.27870747026115383, 0.30871677345117743,
    0.0985715284749291, 0.1986827635968737, 0.37683165336833624, 1,
    0.4335209463585809, 0.3458167647615449, 0.37313814188324335]

#: the official scorer's spacing is the header's zooms, stored as float32
HEADER_SPACING = tuple(float(np.float32(s)) for s in SPACING)


def test_synthetic_case_matches_official_scorer():
    gt, pred = synthetic_case()
    out = flare_case_scores(gt, pred, HEADER_SPACING)
    np.testing.assert_allclose(out['dsc'], SYNTH_DSC, rtol=1e-13, atol=0)
    np.testing.assert_allclose(out['nsd'], SYNTH_NSD, rtol=1e-13, atol=0)
    csv_row = np.concatenate([round_official(out['dsc']),
                              round_official(out['nsd'])])
    np.testing.assert_array_equal(csv_row, SYNTH_CSV)


def test_synthetic_case_matches_method_script():
    gt, pred = synthetic_case()
    out = flare_case_scores(gt, pred, HEADER_SPACING, 1.0,
                            official_rules=False)
    np.testing.assert_allclose(out['dsc'], SYNTH_IVOS_DSC, rtol=1e-13)
    np.testing.assert_allclose(out['nsd'], SYNTH_IVOS_NSD, rtol=1e-13)


def test_real_ct_against_eroded_copy(shared_data):
    labels, seg = flare_label_volume(shared_data)
    pred = eroded_labels(labels)
    spacing = seg.header.get_zooms()
    out = flare_case_scores(labels, pred, spacing)
    np.testing.assert_allclose(out['dsc'], REAL_DSC, rtol=1e-13, atol=0)
    np.testing.assert_allclose(out['nsd'], REAL_NSD, rtol=1e-13, atol=0)
    out = flare_case_scores(labels, pred, spacing, 1.0, official_rules=False)
    np.testing.assert_allclose(out['dsc'], REAL_IVOS_DSC, rtol=1e-13)
    np.testing.assert_allclose(out['nsd'], REAL_IVOS_NSD, rtol=1e-13)


def _aorta(z_lo, z_hi, shape=(12, 12, 10)):
    vol = np.zeros(shape, np.uint8)
    vol[4:7, 4:7, z_lo:z_hi + 1] = 5
    return vol


def test_z_crop_of_aorta_ivc_esophagus():
    gt = _aorta(3, 6)
    pred = _aorta(0, 9)  # beyond the GT slice range on both sides
    out = flare_case_scores(gt, pred, (1, 1, 2))
    assert out['dsc'][4] == 1 and out['nsd'][4] == 1
    method = flare_case_scores(gt, pred, (1, 1, 2), official_rules=False)
    assert method['dsc'][4] == pytest.approx(2 * 36 / (36 + 90))
    # upper bound exclusive: the GT's last slice is not evaluated
    out = flare_case_scores(gt, _aorta(3, 5), (1, 1, 2))
    assert out['dsc'][4] == 1 and out['nsd'][4] == 1
    # the same organ as liver (no crop) is penalised
    assert flare_case_scores(np.where(gt == 5, 1, 0),
                             np.where(pred == 5, 1, 0),
                             (1, 1, 2))['dsc'][0] < 1
    # only within the crop, the prediction is empty: 0
    out = flare_case_scores(gt, _aorta(6, 9), (1, 1, 2))
    assert out['dsc'][4] == 0 and out['nsd'][4] == 0


def test_single_slice_ground_truth_of_a_cropped_organ():
    """The official crop ``[z, z)`` is empty (the official script fails);
    the one GT slice is evaluated instead."""
    gt = _aorta(4, 4)
    out = flare_case_scores(gt, _aorta(2, 6), (1, 1, 2))
    assert out['dsc'][4] == 1 and out['nsd'][4] == 1
    out = flare_case_scores(gt, _aorta(5, 6), (1, 1, 2))
    assert out['dsc'][4] == 0 and out['nsd'][4] == 0


def test_empty_rules_and_low_dsc():
    shape = (10, 10, 6)
    gt, pred = np.zeros(shape, np.uint8), np.zeros(shape, np.uint8)
    gt[1:4, 1:4, 1:4] = 1  # liver only in gt
    pred[5:8, 5:8, 1:4] = 2  # right kidney only in pred
    gt[1:6, 6:9, 1:5] = 3  # spleen, barely overlapping: DSC < 0.2
    pred[5:10, 6:9, 2:5] = 3
    for rules in (True, False):
        out = flare_case_scores(gt, pred, (1, 1, 1), official_rules=rules)
        assert out['dsc'][0] == out['nsd'][0] == 0
        assert out['dsc'][1] == out['nsd'][1] == 0
        np.testing.assert_array_equal(out['dsc'][3:], 1)  # absent in both
        np.testing.assert_array_equal(out['nsd'][3:], 1)
        assert out['dsc'][2] == pytest.approx(2 * 3 * 3 / (60 + 45))
    official = flare_case_scores(gt, pred, (1, 1, 1))
    assert official['nsd'][2] == 0
    assert flare_case_scores(gt, pred, (1, 1, 1),
                             official_rules=False)['nsd'][2] > 0.2


def test_z_axis_and_integer_types():
    gt, pred = synthetic_case()
    ref = flare_case_scores(gt, pred, SPACING)
    moved = flare_case_scores(np.moveaxis(gt, 2, 0).astype(np.int64),
                              np.moveaxis(pred, 2, 0).astype(np.int16),
                              (SPACING[2], SPACING[0], SPACING[1]), z_axis=0)
    np.testing.assert_allclose(moved['dsc'], ref['dsc'], rtol=1e-14)
    np.testing.assert_allclose(moved['nsd'], ref['nsd'], rtol=1e-14)


def test_tolerances_and_errors():
    assert resolve_tolerances('flare22').tolist() == [
        5, 3, 3, 5, 2, 2, 2, 2, 2, 3, 5, 7, 3]
    assert resolve_tolerances(1).tolist() == [1.0] * 13
    assert resolve_tolerances('2.5', 3).tolist() == [2.5] * 3
    with pytest.raises(ValueError, match='flare22'):
        resolve_tolerances('nsd')
    with pytest.raises(ValueError, match='13 values'):
        resolve_tolerances([1, 2])
    gt = np.zeros((4, 4, 4), np.uint8)
    with pytest.raises(ValueError, match='differs'):
        flare_case_scores(gt, gt[:3], (1, 1, 1))
    with pytest.raises(ValueError, match='integer'):
        flare_case_scores(gt.astype(float), gt, (1, 1, 1))
    with pytest.raises(ValueError, match='0..255'):
        flare_case_scores(gt.astype(np.int32) - 1, gt, (1, 1, 1))
    assert round_official([0.12345, 1 / 3]).tolist() == [0.1235, 0.3333]
