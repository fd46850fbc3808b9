"""DAVISMetric: frame-wise feeding, any order, several ranks, CSV output."""
import random

import numpy as np
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmvidseg.evaluation import DAVISMetric, evaluate_sequence
from mmvidseg.evaluation.functional import GLOBAL_KEYS, STAT_KEYS
from mmvidseg.registry import METRICS
from tests.test_evaluation.davis_osvos_reference import (OFFICIAL_GLOBAL,
                                                         SEQUENCE,
                                                         load_car_shadow)


def frame_sample(video, frame, gt, pred):
    """What mmengine hands to ``process``: ``SegDataSample.to_dict()``."""
    return dict(video_id=video, frame_id=frame, img_shape=gt.shape,
                gt_sem_seg=dict(data=torch.from_numpy(gt[None].copy())),
                pred_sem_seg=dict(data=torch.from_numpy(pred[None].copy())))


def feed(metric, samples, batch_size=3):
    for i in range(0, len(samples), batch_size):
        metric.process({}, samples[i:i + batch_size])


def synthetic_videos(seed=0):
    """Two videos with two objects (ids 1 and 3), a late id 4 and void."""
    rng = np.random.default_rng(seed)
    samples, arrays = [], {}
    for video, length in (('a', 7), ('b', 5)):
        gt = np.zeros((length, 24, 32), np.int64)
        pred = np.zeros_like(gt)
        for t in range(length):
            y, x = rng.integers(2, 8, size=2)
            gt[t, y:y + 8, x:x + 10] = 1
            pred[t, y + rng.integers(-2, 3):y + 7, x:x + 11] = 1
            gt[t, 14:20, 15 + t:25 + t] = 3
            if t % 3 != 2:
                pred[t, 14:21, 16 + t:25 + t] = 3
            if t >= 3:
                gt[t, 0:2, 28:32] = 4
            gt[t, 22:24, :] = 255
        arrays[video] = gt, pred
        samples += [frame_sample(video, t, gt[t], pred[t])
                    for t in range(length)]
    return samples, arrays


def test_metric_equals_functional_any_order_and_ranks():
    samples, arrays = synthetic_videos()
    expected = {}
    for video, (gt, pred) in arrays.items():
        for obj, row in evaluate_sequence(gt, pred).items():
            expected[f'{video}_{obj}'] = {k: row[k] for k in STAT_KEYS}
    assert sorted(expected) == ['a_1', 'a_2', 'a_3', 'b_1', 'b_2', 'b_3']

    metric = DAVISMetric()
    feed(metric, samples)
    per_object = metric.video_scores(metric.results)
    assert list(per_object) == list(expected)
    for name, row in expected.items():
        assert per_object[name] == pytest.approx(row), name
    reference = metric.compute_metrics(metric.results)
    assert set(reference) == set(GLOBAL_KEYS)
    for key in STAT_KEYS:
        assert reference[key] == pytest.approx(
            np.mean([row[key] for row in expected.values()]))

    shuffled = list(samples)
    random.Random(1).shuffle(shuffled)
    ranks = [DAVISMetric(), DAVISMetric()]  # simulated ranks
    feed(ranks[0], shuffled[0::2])
    feed(ranks[1], shuffled[1::2], batch_size=2)
    gathered = ranks[1].results + ranks[0].results
    assert metric.compute_metrics(gathered) == pytest.approx(reference)


def test_metric_accepts_data_samples_and_registry():
    gt = np.zeros((3, 8, 8), np.int64)
    gt[:, 2:5, 2:5] = 1
    metric = METRICS.build(dict(type='DAVISMetric'))
    for t in range(3):
        sample = SegDataSample(metainfo=dict(video_id='v', frame_id=t))
        sample.gt_sem_seg = PixelData(data=torch.from_numpy(gt[t:t + 1]))
        sample.pred_sem_seg = PixelData(data=torch.from_numpy(gt[t:t + 1]))
        metric.process({}, [sample])
    assert metric.compute_metrics(metric.results)['J&F-Mean'] == 1.0


def test_metric_errors():
    samples, _ = synthetic_videos()
    metric = DAVISMetric()
    feed(metric, samples + samples[3:4])
    with pytest.raises(ValueError, match=r"video 'a': frames \[3\]"):
        metric.compute_metrics(metric.results)

    metric = DAVISMetric()
    feed(metric, samples[:2])
    with pytest.raises(ValueError, match='at least 3'):
        metric.compute_metrics(metric.results)

    # a predicted id above the first frame's largest id (3)
    bad = dict(samples[2])
    pred = bad['pred_sem_seg']['data'].clone()
    pred[0, 0, 0] = 5
    bad['pred_sem_seg'] = dict(data=pred)
    metric = DAVISMetric()
    feed(metric, samples[:2] + [bad] + samples[3:7])
    with pytest.raises(ValueError, match=r"'a' frame 2.*\[5\]"):
        metric.compute_metrics(metric.results)

    with pytest.raises(ValueError, match='differs'):
        DAVISMetric().process({}, [frame_sample(
            'a', 0, np.zeros((4, 4), np.int64), np.zeros((4, 5), np.int64))])
    with pytest.raises(KeyError, match='frame_id'):
        DAVISMetric().process({}, [dict(video_id='a')])


def test_metric_writes_csv(tmp_path):
    samples, _ = synthetic_videos()
    metric = DAVISMetric(output_dir=str(tmp_path / 'out'))
    feed(metric, samples)
    table = metric.compute_metrics(metric.results)
    rows = (tmp_path / 'out' / 'per-sequence_results.csv').read_text()
    rows = [line.split(',') for line in rows.splitlines()]
    assert rows[0] == ['Sequence', 'J-Mean', 'F-Mean', 'J-Recall', 'J-Decay',
                       'F-Recall', 'F-Decay']
    assert [r[0] for r in rows[1:]] == ['a_1', 'a_2', 'a_3', 'b_1', 'b_2',
                                        'b_3']
    head, values = (tmp_path / 'out' /
                    'global_results.csv').read_text().splitlines()
    assert head.split(',') == list(GLOBAL_KEYS)
    np.testing.assert_allclose([float(v) for v in values.split(',')],
                               [table[k] for k in GLOBAL_KEYS], atol=1e-6)
    assert sorted(p.name for p in (tmp_path / 'out').iterdir()) == [
        'global_results.csv', 'per-sequence_results.csv'
    ]


def test_metric_car_shadow_equals_official(shared_data):
    gt, pred = load_car_shadow(shared_data)
    samples = [frame_sample(SEQUENCE, t, gt[t].astype(np.int64),
                            pred[t].astype(np.int64))
               for t in range(len(gt))]
    random.Random(0).shuffle(samples)
    halves = [DAVISMetric(), DAVISMetric()]
    feed(halves[0], samples[:17], batch_size=4)
    feed(halves[1], samples[17:], batch_size=4)
    out = DAVISMetric().compute_metrics(halves[0].results +
                                        halves[1].results)
    assert set(out) == set(OFFICIAL_GLOBAL)
    for key, value in OFFICIAL_GLOBAL.items():
        assert out[key] == pytest.approx(value, abs=1e-10), key
