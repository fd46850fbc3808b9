"""EndoVisMetric: MS-TFAL's present-class Dice / IoU per frame."""
import math

import numpy as np
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmvidseg.evaluation.metrics import EndoVisMetric
from mmvidseg.evaluation.metrics.endovis_metric import present_class_scores


def _sample(video, frame, gt, pred):
    s = SegDataSample()
    s.gt_sem_seg = PixelData(data=torch.as_tensor(np.asarray(gt))[None])
    s.pred_sem_seg = PixelData(data=torch.as_tensor(np.asarray(pred))[None])
    s.set_metainfo(dict(video_id=video, frame_id=frame))
    return s


def _evaluate(metric, frames):
    metric.process({}, [_sample(*f) for f in frames])
    return metric.evaluate(len(frames))


def test_hand_computed_scores():
    gt = np.array([[0, 1, 1, 1],
                   [0, 2, 2, 0]])
    pred = np.array([[1, 1, 1, 0],
                     [0, 2, 3, 3]])
    s = present_class_scores(gt, pred)
    # class 1: |G|=3 |P|=3 |GP|=2; class 2: |G|=2 |P|=1 |GP|=1; 3 not in GT
    assert s['classes'].tolist() == [1, 2]
    assert s['dice'] == pytest.approx([4 / 6, 2 / 3])
    assert s['iou'] == pytest.approx([2 / 4, 1 / 2])
    # a present class never predicted scores 0 (eps / (|G| + eps))
    s = present_class_scores(np.array([[5, 0]]), np.array([[0, 0]]))
    assert s['dice'][0] == pytest.approx(0, abs=1e-14)
    metric = EndoVisMetric()
    metric.dataset_meta = dict(classes=[f'c{i}' for i in range(6)])
    out = _evaluate(metric, [('seq_1', 0, gt, pred),
                             ('seq_1', 1, gt, gt),
                             ('seq_2', 0, gt, gt)])
    frame0_dice, frame0_iou = (4 / 6 + 2 / 3) / 2, 0.5
    assert out['Dice'] == pytest.approx((frame0_dice + 2) / 3)
    assert out['IoU'] == pytest.approx((frame0_iou + 2) / 3)
    assert out['Dice/seq_1'] == pytest.approx((frame0_dice + 1) / 2)
    assert out['IoU/seq_2'] == pytest.approx(1)
    # per class: mean over the frames where the class is present
    assert out['Dice/c1'] == pytest.approx((4 / 6 + 2) / 3)
    assert out['IoU/c2'] == pytest.approx((0.5 + 2) / 3)
    assert 'Dice/c3' not in out and 'Dice/c0' not in out


def test_background_only_frames():
    gt = np.array([[0, 1], [1, 1]])
    frames = [('seq_1', 0, gt, gt), ('seq_1', 1, np.zeros((2, 2), int), gt),
              ('seq_2', 0, gt, np.zeros((2, 2), int))]
    out = _evaluate(EndoVisMetric(), frames)
    assert out['Dice'] == pytest.approx(0.5)  # frame 1 of seq_1 left out
    assert out['Dice/seq_1'] == pytest.approx(1.0)
    metric = EndoVisMetric(empty_frames='nan')
    out = _evaluate(metric, frames)
    # MS-TFAL: the mean of no class is NaN and spreads to the means
    assert math.isnan(out['Dice']) and math.isnan(out['IoU/seq_1'])
    assert out['Dice/seq_2'] == pytest.approx(0, abs=1e-14)
    with pytest.raises(ValueError, match="'skip' or 'nan'"):
        EndoVisMetric(empty_frames='zero')


def test_size_mismatch_and_missing_keys():
    metric = EndoVisMetric()
    with pytest.raises(ValueError, match="'seq_1' frame 3: prediction size"):
        metric.process({}, [_sample('seq_1', 3, np.zeros((2, 2), int),
                                    np.zeros((2, 3), int))])
    with pytest.raises(KeyError, match='pred_sem_seg'):
        metric.process({}, [dict(video_id='a', frame_id=0,
                                 gt_sem_seg=dict(data=np.zeros((1, 2, 2))))])


def mstfal_masks():
    """The seeded masks of /tmp/m4_golden/golden_metric.py."""
    rng = np.random.RandomState(42)
    out = []
    for seq in (1, 2):
        for f in range(3):
            gt = rng.randint(0, 5, (1, 6, 7)).astype(np.uint8)
            pred = rng.randint(0, 5, (1, 6, 7)).astype(np.int64)
            if seq == 2 and f == 1:
                gt[:] = 0
            out.append((f'seq_{seq}', f, gt[0], pred[0]))
    return out


# MS-TFAL (BeileiCui/MS-TFAL@538475e) utils/EndoMetric.py general_dice /
# general_jaccard with test.py val_map_endo's accumulation (model removed) on
# mstfal_masks(): /tmp/m4_golden/golden_metric.py.
MSTFAL_FRAME_DICE = [0.1263157894736843, 0.19537815126050426,
                     0.22479275110854063, 0.20932539682539691, math.nan,
                     0.20882352941176477]
MSTFAL_FRAME_IOU = [0.07638888888888895, 0.11446886446886453,
                    0.13368983957219258, 0.12399267399267405, math.nan,
                    0.1190476190476191]
MSTFAL_SEQ1 = (0.18216223061424305, 0.10818253097664869)  # Dice, IoU
MSTFAL_CLASS_DICE = [0.17425775978407562, 0.2148036758563075,
                     0.28201680672268914, 0.1006302521008404]  # classes 1..4
MSTFAL_CLASS_IOU = [0.10080808080808087, 0.1282913165266107,
                    0.16958629605688436, 0.055384615384615456]


def test_golden_vs_mstfal():
    metric = EndoVisMetric(empty_frames='nan')
    metric.dataset_meta = dict(classes=[f'c{i}' for i in range(12)])
    masks = mstfal_masks()
    for i, (_, _, gt, pred) in enumerate(masks):
        s = present_class_scores(gt.astype(np.int64), pred)
        if i == 4:
            assert s['classes'].size == 0
            continue
        assert np.mean(s['dice']) == pytest.approx(MSTFAL_FRAME_DICE[i],
                                                   rel=1e-12)
        assert np.mean(s['iou']) == pytest.approx(MSTFAL_FRAME_IOU[i],
                                                  rel=1e-12)
    out = _evaluate(metric, masks[::-1])  # order does not matter
    # MS-TFAL: overall and seq 2 are NaN (background-only frame)
    assert math.isnan(out['Dice']) and math.isnan(out['IoU'])
    assert math.isnan(out['Dice/seq_2'])
    assert (out['Dice/seq_1'], out['IoU/seq_1']) == pytest.approx(MSTFAL_SEQ1)
    for c in range(1, 5):
        assert out[f'Dice/c{c}'] == pytest.approx(MSTFAL_CLASS_DICE[c - 1])
        assert out[f'IoU/c{c}'] == pytest.approx(MSTFAL_CLASS_IOU[c - 1])
    # default: the background-only frame is left out
    out = _evaluate(EndoVisMetric(), masks)
    kept = [d for d in MSTFAL_FRAME_DICE if not math.isnan(d)]
    assert out['Dice'] == pytest.approx(np.mean(kept), rel=1e-12)
    assert out['IoU/seq_2'] == pytest.approx(
        (MSTFAL_FRAME_IOU[3] + MSTFAL_FRAME_IOU[5]) / 2, rel=1e-12)
