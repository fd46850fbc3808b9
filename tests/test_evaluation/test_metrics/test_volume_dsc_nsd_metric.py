"""VolumeDSCNSDMetric: slices in, official per-case DSC / NSD out.

The expected values are the official scorer's (see
``test_functional/test_flare_measures.py`` for where they come from).
"""
import csv
import json

import numpy as np
import pytest
import torch
from mmengine.structures import PixelData

from mmvidseg.evaluation.functional import flare_case_scores
from mmvidseg.evaluation.metrics import VolumeDSCNSDMetric
from mmvidseg.registry import METRICS
from tests._flare_data import flare_label_volume, make_flare_layout
from tests.test_evaluation._flare_cases import eroded_labels, synthetic_case
from tests.test_evaluation.test_functional.test_flare_measures import (
    HEADER_SPACING, REAL_DSC, REAL_NSD, SYNTH_CSV, SYNTH_DSC, SYNTH_NSD)


def slice_samples(case, gt, pred, spacing, order=None, **meta):
    """One data-sample dict per slice of (H, W, S) volumes."""
    num = gt.shape[2]
    return [
        dict(video_id=case, frame_id=k, num_slices=num,
             volume_spacing=spacing,
             gt_sem_seg=dict(data=torch.from_numpy(gt[None, :, :, k].copy())),
             pred_sem_seg=dict(data=pred[None, :, :, k]), **meta)
        for k in (range(num) if order is None else order)
    ]


def test_registered_and_official_values_per_case(tmp_path):
    assert METRICS.get('VolumeDSCNSDMetric') is VolumeDSCNSDMetric
    gt, pred = synthetic_case()
    metric = VolumeDSCNSDMetric(output_dir=str(tmp_path / 'out'))
    order = list(range(gt.shape[2]))[::-1]  # any slice order
    for sample in slice_samples('synth', gt, pred, HEADER_SPACING, order):
        metric.process({}, [sample])
    assert len(metric.results) == 1  # scored once complete
    # a second case: identical prediction
    for sample in slice_samples('same', gt, gt, HEADER_SPACING):
        metric.process({}, [sample])
    out = metric.evaluate(2)
    assert out['mDSC'] == pytest.approx((np.mean(SYNTH_DSC) + 1) / 2)
    assert out['mNSD'] == pytest.approx((np.mean(SYNTH_NSD) + 1) / 2)
    assert out['DSC_aorta'] == pytest.approx((SYNTH_DSC[4] + 1) / 2)
    assert out['NSD_inferior_vena_cava'] == pytest.approx(
        (SYNTH_NSD[5] + 1) / 2)
    assert len(out) == 2 + 2 * 13
    rows = list(csv.reader(open(tmp_path / 'out' / 'flare_dsc_nsd.csv')))
    assert rows[0][:3] == ['Name', 'Liver_DSC', 'RK_DSC']
    assert rows[0][14] == 'Liver_NSD'
    assert rows[2][0] == 'synth'
    np.testing.assert_allclose([float(v) for v in rows[2][1:]],
                               SYNTH_DSC + SYNTH_NSD, rtol=1e-13)
    report = json.load(open(tmp_path / 'out' / 'flare_dsc_nsd.json'))
    assert report['cases']['same']['nsd'] == [1.0] * 13
    assert report['means']['mDSC'] == pytest.approx(out['mDSC'])


def test_official_rounding_and_method_rules():
    gt, pred = synthetic_case()
    metric = VolumeDSCNSDMetric(round_decimals=4)
    for sample in slice_samples('synth', gt, pred, HEADER_SPACING):
        metric.process({}, [sample])
    out = metric.evaluate(1)
    assert out['mDSC'] == pytest.approx(np.mean(SYNTH_CSV[:13]), abs=1e-12)
    assert out['mNSD'] == pytest.approx(np.mean(SYNTH_CSV[13:]), abs=1e-12)
    metric = VolumeDSCNSDMetric(tolerance=1.0, official_rules=False)
    for sample in slice_samples('synth', gt, pred, HEADER_SPACING):
        metric.process({}, [sample])
    ref = flare_case_scores(gt, pred, HEADER_SPACING, 1.0,
                            official_rules=False)
    assert metric.evaluate(1)['mNSD'] == pytest.approx(ref['nsd'].mean())


def test_case_split_over_ranks_and_duplicate_slices():
    gt, pred = synthetic_case()
    samples = slice_samples('synth', gt, pred, HEADER_SPACING)
    rank0, rank1 = VolumeDSCNSDMetric(), VolumeDSCNSDMetric()
    for sample in samples[:7]:
        rank0.process({}, [sample])
    for sample in samples[7:] + samples[:2]:  # padding repeats slices
        rank1.process({}, [sample])
    assert not rank0.results and not rank1.results
    rank0.flush_pending()
    rank1.flush_pending()
    out = rank0.compute_metrics(rank0.results + rank1.results)
    assert out['mDSC'] == pytest.approx(np.mean(SYNTH_DSC), rel=1e-13)
    assert out['mNSD'] == pytest.approx(np.mean(SYNTH_NSD), rel=1e-13)
    # a whole case on one rank plus a repeated slice on another
    whole = VolumeDSCNSDMetric()
    for sample in samples:
        whole.process({}, [sample])
    rank1 = VolumeDSCNSDMetric()
    rank1.process({}, [samples[3]])
    rank1.flush_pending()
    out2 = whole.compute_metrics(whole.results + rank1.results)
    assert out2 == pytest.approx(out)


def test_errors():
    gt, pred = synthetic_case()
    samples = slice_samples('synth', gt, pred, HEADER_SPACING)
    metric = VolumeDSCNSDMetric()
    for sample in samples[:-1]:
        metric.process({}, [sample])
    metric.flush_pending()
    with pytest.raises(ValueError, match=r"'synth'.*missing slices \[19\]"):
        metric.compute_metrics(metric.results)
    bad = dict(samples[0])
    del bad['volume_spacing']
    with pytest.raises(KeyError, match='volume_spacing'):
        VolumeDSCNSDMetric().process({}, [bad])
    with pytest.raises(KeyError, match='num_slices'):
        VolumeDSCNSDMetric().process(
            {}, [{k: v for k, v in samples[0].items() if k != 'num_slices'}])
    bad = dict(samples[0], pred_sem_seg=dict(data=np.zeros((1, 3, 3))))
    with pytest.raises(ValueError, match='differs from the ground truth'):
        VolumeDSCNSDMetric().process({}, [bad])
    with pytest.raises(ValueError, match='tolerance'):
        VolumeDSCNSDMetric(tolerance='nsd')


def test_real_ct_through_the_volume_dataset(shared_data, tmp_path):
    """Slices and metainfo from NiftiVolumeDataset + LoadVolumeSlices +
    PackVideoSegInputs; the prediction is the eroded label volume."""
    from mmvidseg.datasets import NiftiVolumeDataset
    root = make_flare_layout(str(tmp_path / 'flare'), shared_data)
    meta_keys = ('video_id', 'frame_id', 'num_slices', 'volume_spacing',
                 'slice_axis', 'ori_shape')
    ds = NiftiVolumeDataset(
        data_root=root, ann_dir='labelsTr', cache_dir=str(tmp_path / 'c'),
        pipeline=[dict(type='LoadVolumeSlices'),
                  dict(type='PackVideoSegInputs', meta_keys=meta_keys)])
    labels, _ = flare_label_volume(shared_data)  # RAS: canonical = raw
    pred = eroded_labels(labels)
    metric = VolumeDSCNSDMetric()
    metric.dataset_meta = ds.metainfo
    for idx in range(len(ds)):
        sample = ds[idx]['data_samples']
        k = sample.frame_id
        np.testing.assert_array_equal(sample.gt_sem_seg.data[0].numpy(),
                                      labels[:, :, k])
        sample.pred_sem_seg = PixelData(
            data=torch.from_numpy(pred[None, :, :, k].copy()))
        metric.process({}, [sample])
    out = metric.evaluate(len(ds))
    assert out['mDSC'] == pytest.approx(np.mean(REAL_DSC), rel=1e-12)
    assert out['mNSD'] == pytest.approx(np.mean(REAL_NSD), rel=1e-12)
