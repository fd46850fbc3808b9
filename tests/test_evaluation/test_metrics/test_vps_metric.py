"""VPSMetric: the toolbox's numbers from SegDataSamples, logits to saved maps,
simulated ranks, short cases, PNG output and errors."""
import random

import cv2
import numpy as np
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmvidseg.evaluation import VPSMetric, evaluate_vps, frame_measures
from mmvidseg.evaluation.functional import VPS_KEYS
from mmvidseg.evaluation.metrics.vps_metric import probability_map
from mmvidseg.registry import METRICS
from tests.test_evaluation.vps_colondb_reference import (CASES,
                                                         TOOLBOX_OVERALL,
                                                         TOOLBOX_PER_CASE,
                                                         load_fixture)


def data_sample(video, frame, gt, logits=None, pred_map=None, name=None):
    """A SegDataSample as the test loop hands it to ``process``."""
    sample = SegDataSample(metainfo=dict(
        video_id=video, frame_id=frame,
        img_path=f'data/Frame/{video}/{name or frame}.jpg'))
    sample.gt_sem_seg = PixelData(data=torch.from_numpy(gt[None].copy()))
    if logits is not None:
        sample.seg_logits = PixelData(data=torch.from_numpy(logits))
    if pred_map is not None:
        sample.set_data(dict(pred_map=PixelData(
            data=torch.from_numpy(pred_map[None].copy()))))
    return sample


def synthetic_cases(seed=0, lengths=(('a', 5), ('b', 4))):
    """Cases of (1, 20, 26) logits and {0, 1} masks."""
    rng = np.random.default_rng(seed)
    cases = {}
    for video, length in lengths:
        frames = []
        for t in range(length):
            gt = np.zeros((20, 26), np.uint8)
            y, x = rng.integers(2, 8, size=2)
            gt[y:y + 8, x:x + 10] = 1
            logits = rng.normal(-2, 1.5, (1, 20, 26)).astype(np.float32)
            logits[0] += gt * rng.uniform(2, 5)
            frames.append((gt, logits))
        cases[video] = frames
    return cases


def feed(metric, samples, batch_size=3):
    for i in range(0, len(samples), batch_size):
        metric.process({}, samples[i:i + batch_size])


def test_fixture_equals_the_toolbox_on_two_ranks(shared_data):
    """Golden values: see tests/test_evaluation/vps_colondb_reference.py
    (SALI c760e64 eval/, ``python run_golden.py``)."""
    samples = [data_sample(case, t, gt, pred_map=pred, name=name[:-4])
               for case, frames in load_fixture(shared_data).items()
               for t, (name, gt, pred) in enumerate(frames)]
    assert len(samples) == sum(CASES.values())
    random.Random(0).shuffle(samples)
    ranks = [VPSMetric(), VPSMetric()]  # simulated ranks, unequal sizes
    feed(ranks[0], samples[:6], batch_size=4)
    feed(ranks[1], samples[6:], batch_size=2)
    metric = VPSMetric()
    out = metric.compute_metrics(ranks[1].results + ranks[0].results)
    assert list(out) == list(VPS_KEYS)
    for key, value in TOOLBOX_OVERALL.items():
        assert out[key] == pytest.approx(value, abs=1e-9), key
    per_case = metric.case_scores(ranks[0].results + ranks[1].results)
    assert per_case['skipped_cases'] == []
    for case, table in TOOLBOX_PER_CASE.items():
        for key, value in table.items():
            assert per_case['per_case'][case][key] == pytest.approx(
                value, abs=1e-9), (case, key)


def test_probability_map_is_sali_saved_map():
    logits = np.log(np.array([[[1 / 4, 1.0, 4.0, 9.0]]], np.float32))
    prob = probability_map(logits)  # sigmoid: 0.2, 0.5, 0.8, 0.9
    np.testing.assert_allclose(prob, [[0, 0.3 / 0.7, 0.6 / 0.7, 1]],
                               rtol=1e-6)
    assert prob.dtype == np.float32
    # uint8(p * 255) truncates: 109.29 -> 109, 218.57 -> 218 (not 219)
    sample = data_sample('v', 0, np.ones((1, 4), np.uint8), logits=logits)
    metric = VPSMetric()
    metric.process({}, [sample])
    expected = frame_measures(np.array([[0, 109, 218, 255]], np.uint8),
                              np.full((1, 4), 255, np.uint8))
    assert metric.results[0]['Smeasure'] == expected['Smeasure']
    # two-class logits: softmax[1] = sigmoid(l1 - l0)
    two = np.concatenate([np.full_like(logits, 0.7), logits + 0.7])
    np.testing.assert_allclose(probability_map(two), prob, atol=1e-6)
    with pytest.raises(ValueError, match='1 .* or 2 channels, got 3'):
        probability_map(np.zeros((3, 2, 2), np.float32))


def test_metric_equals_functional_quantize_and_gt_values():
    cases = synthetic_cases()
    maps = {v: [((probability_map(lg) * 255).astype(np.uint8), gt * 255)
                for gt, lg in frames] for v, frames in cases.items()}
    expected, _ = evaluate_vps(maps)
    for gt_scale in (1, 255):  # {0, 1} ids and {0, 255} masks
        metric = METRICS.build(dict(type='VPSMetric'))
        feed(metric, [data_sample(v, t, gt * gt_scale, logits=lg)
                      for v, frames in cases.items()
                      for t, (gt, lg) in enumerate(frames)])
        assert metric.compute_metrics(metric.results) == expected

    floats = {v: [(probability_map(lg).astype(np.float64) * 255, gt * 255)
                  for gt, lg in frames] for v, frames in cases.items()}
    metric = VPSMetric(quantize=False)
    feed(metric, [data_sample(v, t, gt, logits=lg)
                  for v, frames in cases.items()
                  for t, (gt, lg) in enumerate(frames)])
    out = metric.compute_metrics(metric.results)
    assert out == pytest.approx(evaluate_vps(floats)[0], rel=1e-12)
    assert out != expected  # the uint8 truncation changes the numbers
    assert out == pytest.approx(expected, abs=0.02)


def test_short_cases_are_skipped_and_counted():
    cases = synthetic_cases(lengths=(('a', 5), ('short', 2)))
    samples = [data_sample(v, t, gt, logits=lg)
               for v, frames in cases.items()
               for t, (gt, lg) in enumerate(frames)]
    metric = VPSMetric()
    feed(metric, samples)
    scores = metric.case_scores(metric.results)
    assert scores['skipped_cases'] == ['short']
    assert list(scores['per_case']) == ['a']
    alone = VPSMetric()
    feed(alone, samples[:5])
    assert metric.compute_metrics(metric.results) == \
        alone.compute_metrics(alone.results)
    only_short = VPSMetric()
    feed(only_short, samples[5:])
    with pytest.raises(ValueError, match='none of the 1 case'):
        only_short.compute_metrics(only_short.results)


def test_writes_saved_maps_in_benchmark_layout(tmp_path):
    cases = synthetic_cases(lengths=(('case1_1', 3), ))
    metric = VPSMetric(out_dir=str(tmp_path / 'pred'))
    feed(metric, [data_sample(v, t, gt, logits=lg, name=f'img_{t:04d}')
                  for v, frames in cases.items()
                  for t, (gt, lg) in enumerate(frames)])
    written = sorted(p.name for p in (tmp_path / 'pred' / 'case1_1').iterdir())
    assert written == ['img_0000.png', 'img_0001.png', 'img_0002.png']
    png = cv2.imread(str(tmp_path / 'pred' / 'case1_1' / 'img_0001.png'),
                     cv2.IMREAD_UNCHANGED)
    lg = cases['case1_1'][1][1]
    np.testing.assert_array_equal(
        png, (probability_map(lg) * 255).astype(np.uint8))


def test_errors():
    gt = np.zeros((4, 5), np.uint8)
    with pytest.raises(KeyError, match='seg_logits'):
        VPSMetric().process({}, [dict(video_id='a', frame_id=0,
                                      gt_sem_seg=dict(data=gt[None]))])
    with pytest.raises(ValueError, match=r"'a' frame 0: prediction size "
                       r'\(4, 6\) differs'):
        VPSMetric().process({}, [data_sample(
            'a', 0, gt, logits=np.zeros((1, 4, 6), np.float32))])
    sample = dict(video_id='a', frame_id=0, gt_sem_seg=dict(data=gt[None]),
                  seg_logits=dict(data=np.zeros((1, 4, 5), np.float32)))
    with pytest.raises(KeyError, match='img_path'):
        VPSMetric(out_dir='unused').process({}, [sample])
