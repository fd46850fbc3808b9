"""``score_folder.py endovis``: class-id PNGs on disk scored with
EndoVisMetric, the same numbers as the metric."""
import importlib.util
import json
import math
import os
import os.path as osp

import numpy as np
import pytest
from PIL import Image

from mmvidseg.evaluation.folder_scorer import EndoVisFolderReader, score_folder
from mmvidseg.evaluation.metrics import EndoVisMetric
from tests.test_evaluation.test_metrics.test_endovis_metric import (
    MSTFAL_FRAME_DICE, _sample, mstfal_masks)
from tests.test_tools._run import tool


@pytest.fixture(scope='module')
def cli():
    spec = importlib.util.spec_from_file_location(
        'score_folder_cli_endovis', tool('analysis_tools/score_folder.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_masks(root, masks):
    """``root/{gt,pred}/<seq>/frameXXX.png`` from (seq, frame, gt, pred)."""
    for seq, frame, gt, pred in masks:
        for side, ids in (('gt', gt), ('pred', pred)):
            folder = osp.join(root, side, seq)
            os.makedirs(folder, exist_ok=True)
            Image.fromarray(np.asarray(ids, np.uint8)).save(
                osp.join(folder, f'frame{frame:03d}.png'))
    return osp.join(root, 'gt'), osp.join(root, 'pred')


def test_cli_report_equals_metric(cli, tmp_path, capsys):
    masks = mstfal_masks()
    gt, pred = write_masks(str(tmp_path), masks)
    out = tmp_path / 'scores.json'
    cli.main(['endovis', '--gt', gt, '--pred', pred, '--out', str(out)])
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert json.loads(out.read_text()) == report
    assert (report['videos'], report['frames'], report['empty_frames']) == (
        2, 6, 1)
    metric = EndoVisMetric()
    metric.dataset_meta = dict(classes=[f'c{i}' for i in range(12)])
    metric.process({}, [_sample(*m) for m in masks])
    expected = metric.evaluate(6)
    kept = [d for d in MSTFAL_FRAME_DICE if not math.isnan(d)]
    assert report['overall']['Dice'] == pytest.approx(np.mean(kept))
    assert report['overall']['Dice'] == expected['Dice']
    assert report['overall']['IoU'] == expected['IoU']
    assert report['per_sequence']['seq_2']['IoU'] == expected['IoU/seq_2']
    assert report['per_sequence']['seq_1']['frames'] == 3
    # per class with the EndoVis18 names (12 classes)
    assert report['per_class']['instrument-shaft']['Dice'] == \
        expected['Dice/c1']
    assert 'EndoVis: Dice' in captured.err
    # MS-TFAL's NaN rule: null in the JSON
    cli.main(['endovis', '--gt', gt, '--pred', pred, '--empty-frames',
              'nan'])
    report = json.loads(capsys.readouterr().out)
    assert report['overall']['Dice'] is None
    assert report['options'] == dict(num_classes=12, empty_frames='nan')


def test_gt_subdir_and_errors(cli, tmp_path):
    gt_ids = np.array([[0, 1], [2, 2]])
    root = str(tmp_path)
    os.makedirs(osp.join(root, 'test', 'seq_1', 'class_labels'))
    Image.fromarray(gt_ids.astype(np.uint8)).save(
        osp.join(root, 'test', 'seq_1', 'class_labels', 'frame000.png'))
    _, pred = write_masks(osp.join(root, 'res'),
                          [('seq_1', 0, gt_ids, gt_ids)])
    reader = EndoVisFolderReader(osp.join(root, 'test'), pred,
                                 gt_subdir='class_labels')
    assert score_folder(reader)['overall']['Dice'] == pytest.approx(1.0)
    # missing prediction: one line naming the file
    os.remove(osp.join(pred, 'seq_1', 'frame000.png'))
    argv = ['endovis', '--gt', osp.join(root, 'test'), '--pred', pred,
            '--gt-subdir', 'class_labels']
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert str(exc.value.code) == (
        "score_folder.py endovis: error: sequence 'seq_1': 1 frame(s) "
        'without a prediction, first '
        f"{osp.join(pred, 'seq_1', 'frame000.png')}")
    # size mismatch and ids out of range
    Image.fromarray(np.zeros((3, 2), np.uint8)).save(
        osp.join(pred, 'seq_1', 'frame000.png'))
    with pytest.raises(ValueError, match=r'frame000.png has size \(3, 2\), '
                       r'the ground truth .* \(2, 2\)'):
        cli.main(argv + ['--debug'])
    with pytest.raises(ValueError, match=r'class id 2 >= --num-classes 2'):
        cli.main(argv + ['--debug', '--num-classes', '2'])
