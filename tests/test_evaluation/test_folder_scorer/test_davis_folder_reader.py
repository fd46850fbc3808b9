"""DAVISFolderReader + score_folder: the metric's numbers from files, and
clear errors for missing or unreadable videos and frames."""
import json
import os

import numpy as np
import pytest
from PIL import Image

from mmvidseg.evaluation import DAVISMetric, evaluate_sequence
from mmvidseg.evaluation.folder_scorer import (FOLDER_READERS,
                                               DAVISFolderReader,
                                               report_to_json, score_folder,
                                               write_report)
from mmvidseg.evaluation.functional import STAT_KEYS

VIDEOS = (('blackswan', 5), ('cows', 4), ('dog', 6))


def save_ids(path, ids, mode='P'):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    img = Image.fromarray(ids.astype(np.uint8), mode='L')
    if mode == 'P':
        img = img.convert('P')
        img.putpalette([0, 0, 0, 128, 0, 0, 0, 128, 0] + [255] * 759)
    img.save(path)


def synthetic_video(length, seed, binary=False):
    """(gt, pred) id maps (T, 10, 14): objects 1, 2 (and void) or {0, 1}."""
    rng = np.random.default_rng(seed)
    gt = np.zeros((length, 10, 14), np.int64)
    for t in range(length):
        y, x = rng.integers(0, 4, size=2)
        gt[t, y:y + 5, x:x + 6] = 1
        if not binary:
            gt[t, 6:9, 7 + t % 4:11 + t % 4] = 2
            gt[t, 9, :3] = 255
    pred = np.where(gt == 255, 0, gt)
    flip = rng.random(gt.shape) < 0.1
    pred[flip] = rng.integers(0, 2 if binary else 3, size=flip.sum())
    return gt, pred


def make_davis(root, videos=VIDEOS, binary=False, seed=0):
    """DAVIS root ``root/gt`` and results ``root/pred``; returns arrays."""
    arrays = {}
    for i, (video, length) in enumerate(videos):
        gt, pred = synthetic_video(length, seed + i, binary)
        for t in range(length):
            name = f'{t:05d}.png'
            if binary:  # DAVIS-2016: grey {0, 255} ground truth
                save_ids(root / 'gt' / 'Annotations' / '480p' / video / name,
                         gt[t] * 255, mode='L')
            else:
                save_ids(root / 'gt' / 'Annotations' / '480p' / video / name,
                         gt[t])
            save_ids(root / 'pred' / video / name, pred[t])
        arrays[video] = gt, pred
    return arrays


def test_scores_equal_the_metric_and_the_sequence_scorer(tmp_path):
    arrays = make_davis(tmp_path)
    reader = FOLDER_READERS['davis'](str(tmp_path / 'gt'),
                                     str(tmp_path / 'pred'))
    assert reader.list_videos() == {
        v: [f'{t:05d}.png' for t in range(n)] for v, n in VIDEOS}
    report = score_folder(reader)
    assert (report['metric'], report['videos'], report['frames']) == \
        ('davis', 3, 15)

    metric = DAVISMetric()
    for video, (gt, pred) in arrays.items():
        metric.process({}, [dict(video_id=video, frame_id=t,
                                 gt_sem_seg=dict(data=gt[t:t + 1]),
                                 pred_sem_seg=dict(data=pred[t:t + 1]))
                            for t in range(len(gt))])
    assert report['overall'] == metric.compute_metrics(metric.results)
    for video, (gt, pred) in arrays.items():
        for obj, row in evaluate_sequence(gt, pred).items():
            assert report['per_object'][f'{video}_{obj}'] == pytest.approx(
                {k: row[k] for k in STAT_KEYS})
    assert score_folder(reader, nproc=2) == report

    # void pixels: left out with exclude_void, so J rises
    excl = score_folder(DAVISFolderReader(str(tmp_path / 'gt'),
                                          str(tmp_path / 'pred'),
                                          exclude_void=True))
    assert excl['options']['exclude_void']
    assert excl['overall']['J-Mean'] > report['overall']['J-Mean']

    out = tmp_path / 'report.json'
    write_report(str(out), report)
    assert json.loads(out.read_text()) == json.loads(report_to_json(report))
    assert json.loads(report_to_json({'x': float('nan')})) == {'x': None}


def test_sequences_default_to_the_prediction_folder(tmp_path):
    make_davis(tmp_path)
    (tmp_path / 'pred' / 'cows').rename(tmp_path / 'cows_elsewhere')
    gt, pred = str(tmp_path / 'gt'), str(tmp_path / 'pred')
    assert list(DAVISFolderReader(gt, pred).list_videos()) == [
        'blackswan', 'dog']
    # asked for explicitly: the missing prediction folder is an error
    with pytest.raises(FileNotFoundError,
                       match=r"video 'cows': prediction folder .*pred/cows"):
        DAVISFolderReader(gt, pred, sequences=['cows', 'dog']).list_videos()


def test_davis2016_binary_masks(tmp_path):
    arrays = make_davis(tmp_path, VIDEOS[:1], binary=True)
    gt_dir, pred_dir = str(tmp_path / 'gt'), str(tmp_path / 'pred')
    reader = DAVISFolderReader(gt_dir, pred_dir, davis2016=True)
    report = score_folder(reader)
    gt, pred = arrays['blackswan']
    expected = evaluate_sequence(gt, pred)[1]
    assert list(report['per_object']) == ['blackswan_1']
    assert report['overall']['J-Mean'] == pytest.approx(expected['J-Mean'])
    # predictions as {0, 255} masks score the same
    for t in range(len(pred)):
        save_ids(tmp_path / 'pred' / 'blackswan' / f'{t:05d}.png',
                 pred[t] * 255, mode='L')
    assert score_folder(reader) == report
    # without the option 255 is void and no object is given in frame 0
    with pytest.raises(ValueError, match=r'predicted object ids \[255\]'):
        score_folder(DAVISFolderReader(gt_dir, pred_dir))
    bad = tmp_path / 'gt' / 'Annotations' / '480p' / 'blackswan' / '00002.png'
    save_ids(bad, gt[2] * 128, mode='L')
    with pytest.raises(ValueError, match=f'{bad}.*0 and 255 only.*128'):
        score_folder(reader)


@pytest.mark.parametrize('case', [
    'missing pred frame', 'extra pred frame', 'missing gt video',
    'unreadable', 'rgb', 'size', 'empty pred'])
def test_errors_name_the_video_or_file(tmp_path, case):
    make_davis(tmp_path, VIDEOS[:2])
    pred = tmp_path / 'pred'
    if case == 'missing pred frame':
        os.remove(pred / 'cows' / '00002.png')
        match = r"video 'cows': 1 frame\(s\) without a prediction, first " \
            f'{pred}/cows/00002.png'
    elif case == 'extra pred frame':
        save_ids(pred / 'cows' / '00009.png', np.zeros((10, 14)))
        match = r"video 'cows': 1 prediction\(s\) without a ground-truth " \
            'frame, first .*cows/00009.png'
    elif case == 'missing gt video':
        save_ids(pred / 'zebra' / '00000.png', np.zeros((10, 14)))
        match = "video 'zebra': ground-truth folder .*480p/zebra not found"
    elif case == 'unreadable':
        (pred / 'cows' / '00001.png').write_bytes(b'not a png')
        match = f'prediction {pred}/cows/00001.png cannot be read'
    elif case == 'rgb':
        Image.new('RGB', (14, 10)).save(pred / 'cows' / '00001.png')
        match = f'prediction {pred}/cows/00001.png: expected a palette'
    elif case == 'size':
        save_ids(pred / 'cows' / '00001.png', np.zeros((10, 15)))
        match = r'prediction .*cows/00001.png has size \(10, 15\)'
    else:
        for d in pred.iterdir():
            d.rename(tmp_path / d.name)
        match = 'no sequence folders to score'
    reader = DAVISFolderReader(str(tmp_path / 'gt'), str(pred))
    with pytest.raises((FileNotFoundError, ValueError), match=match):
        score_folder(reader, nproc=2)


def test_bad_roots(tmp_path):
    with pytest.raises(FileNotFoundError, match='prediction folder'):
        DAVISFolderReader(str(tmp_path), str(tmp_path / 'nope'))
    with pytest.raises(FileNotFoundError, match='Annotations/480p'):
        DAVISFolderReader(str(tmp_path), str(tmp_path))
