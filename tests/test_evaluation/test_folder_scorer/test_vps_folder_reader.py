"""VPSFolderReader + score_folder: the toolbox's numbers from files, the
metric on data samples = the scorer on the maps it wrote, clear errors."""
import importlib.util
import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest

from mmvidseg.evaluation import VPSMetric
from mmvidseg.evaluation.folder_scorer import (FOLDER_READERS, VPSFolderReader,
                                               score_folder)
from mmvidseg.evaluation.functional import VPS_KEYS
from tests.test_evaluation.test_metrics.test_vps_metric import (
    data_sample, feed, synthetic_cases)
from tests.test_evaluation.vps_colondb_reference import (CASES, TOOLBOX_3DP,
                                                         TOOLBOX_HALF_OVERALL,
                                                         TOOLBOX_OVERALL,
                                                         TOOLBOX_PER_CASE,
                                                         fixture_dirs,
                                                         write_half)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))


def load_cli():
    """tools/analysis_tools/score_folder.py as a module (``main(argv)``)."""
    path = osp.join(ROOT, 'tools', 'analysis_tools', 'score_folder.py')
    spec = importlib.util.spec_from_file_location('score_folder_vps', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_fixture_equals_the_toolbox(shared_data, tmp_path, capsys):
    """Golden values: see tests/test_evaluation/vps_colondb_reference.py
    (SALI c760e64 eval/, ``python run_golden.py``)."""
    gt_dir, pred_dir = fixture_dirs(shared_data)
    out = tmp_path / 'scores' / 'vps.json'
    load_cli().main(['vps', '--gt', gt_dir, '--pred', pred_dir, '--nproc',
                     '2', '--out', str(out)])
    report = json.loads(capsys.readouterr().out)
    assert json.loads(out.read_text()) == report
    assert (report['metric'], report['videos'], report['frames']) == (
        'vps', len(CASES), sum(CASES.values()))
    assert list(report['overall']) == list(VPS_KEYS)
    for key, value in TOOLBOX_OVERALL.items():
        assert report['overall'][key] == pytest.approx(value, abs=1e-9), key
        assert round(report['overall'][key], 3) == TOOLBOX_3DP[key], key
    assert report['skipped_cases'] == []
    for case, table in TOOLBOX_PER_CASE.items():
        for key, value in table.items():
            assert report['per_case'][case][key] == pytest.approx(
                value, abs=1e-9), (case, key)


def test_resized_fixture_equals_the_toolbox(shared_data, tmp_path):
    """Every prediction at half size: the toolbox's bilinear cv2.resize."""
    gt_dir, _ = fixture_dirs(shared_data)
    write_half(shared_data, str(tmp_path / 'half'))
    report = score_folder(VPSFolderReader(gt_dir, str(tmp_path / 'half')))
    for key, value in TOOLBOX_HALF_OVERALL.items():
        assert report['overall'][key] == pytest.approx(value, abs=1e-9), key


def write_gt(root, cases, names=None):
    """0/255 mask PNGs ``root/<case>/<name>.png``."""
    for video, frames in cases.items():
        os.makedirs(root / video, exist_ok=True)
        for t, (gt, _) in enumerate(frames):
            name = names[t] if names else f'img_{t:04d}'
            cv2.imwrite(str(root / video / f'{name}.png'), gt * 255)


def test_metric_on_data_samples_equals_scorer_on_its_maps(tmp_path):
    cases = synthetic_cases(seed=3, lengths=(('1', 5), ('2', 4), ('3', 3)))
    samples = [data_sample(v, t, gt, logits=lg, name=f'img_{t:04d}')
               for v, frames in cases.items()
               for t, (gt, lg) in enumerate(frames)]
    ranks = [VPSMetric(out_dir=str(tmp_path / 'pred')) for _ in range(2)]
    feed(ranks[0], samples[0::2])  # simulated ranks, mixed videos
    feed(ranks[1], samples[1::2], batch_size=2)
    results = ranks[0].results + ranks[1].results
    expected = VPSMetric().compute_metrics(results)
    write_gt(tmp_path / 'gt', cases)
    reader = FOLDER_READERS['vps'](str(tmp_path / 'gt'),
                                   str(tmp_path / 'pred'))
    report = score_folder(reader)
    assert report['overall'] == expected
    assert report['per_case'] == VPSMetric().case_scores(results)['per_case']
    assert score_folder(reader, nproc=2) == report


def test_resize_natural_order_and_extra_files(tmp_path):
    cases = synthetic_cases(seed=5, lengths=(('7', 4), ))
    names = ['9', '10', '11', '100']  # lexical order would be 10 100 11 9
    write_gt(tmp_path / 'gt', cases, names)
    os.makedirs(tmp_path / 'pred' / '7')
    maps = []
    for name, (gt, _) in zip(names, cases['7']):
        small = np.random.default_rng(int(name)).integers(
            0, 256, (13, 17), dtype=np.uint8)
        cv2.imwrite(str(tmp_path / 'pred' / '7' / f'{name}.png'), small)
        maps.append(cv2.resize(small, (gt.shape[1], gt.shape[0])))
    cv2.imwrite(str(tmp_path / 'pred' / '7' / 'extra.png'), small)
    reader = VPSFolderReader(str(tmp_path / 'gt'), str(tmp_path / 'pred'))
    assert reader.list_videos() == {'7': [f'{n}.png' for n in names]}
    metric = VPSMetric()
    feed(metric, [data_sample('7', t, gt, pred_map=m)
                  for t, (m, (gt, _)) in enumerate(zip(maps, cases['7']))])
    assert score_folder(reader)['overall'] == metric.compute_metrics(
        metric.results)


@pytest.mark.parametrize('case', [
    'missing frame', 'missing case', 'unreadable', 'no case', 'no png'])
def test_errors_name_the_case_or_file(tmp_path, case):
    cases = synthetic_cases(lengths=(('1', 3), ('2', 3)))
    gt, pred = tmp_path / 'gt', tmp_path / 'pred'
    write_gt(gt, cases)
    write_gt(pred, cases)
    if case == 'missing frame':
        os.remove(pred / '2' / 'img_0000.png')  # first frames are needed
        match = ("case '2': 1 frame\\(s\\) without a prediction, first "
                 f'{pred}/2/img_0000.png')
    elif case == 'missing case':
        os.rename(pred / '2', tmp_path / 'elsewhere')
        match = f"case '2': prediction folder {pred}/2 not found"
    elif case == 'unreadable':
        (pred / '1' / 'img_0001.png').write_bytes(b'not a png')
        match = f'prediction {pred}/1/img_0001.png cannot be read'
    elif case == 'no case':
        gt = tmp_path / 'empty'
        os.makedirs(gt)
        match = 'no case folders in the ground-truth folder'
    else:
        os.makedirs(gt / '3')
        match = f"case '3': no ground-truth PNG in {gt}/3"
    with pytest.raises((FileNotFoundError, ValueError), match=match):
        score_folder(VPSFolderReader(str(gt), str(pred)), nproc=2)
