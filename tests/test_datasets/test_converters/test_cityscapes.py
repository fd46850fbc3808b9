import os
import os.path as osp

import cv2
import numpy as np
import pytest

from mmvidseg.datasets.converters import (LABEL_TO_TRAIN_ID,
                                          convert_cityscapes_trainids,
                                          labelids_to_trainids)
from tests.test_tools._run import run, tool


def _write_label_ids(root, city, name, ids):
    path = osp.join(root, 'train', city, f'{name}_gtFine_labelIds.png')
    os.makedirs(osp.dirname(path), exist_ok=True)
    cv2.imwrite(path, np.array(ids, np.uint8).repeat(4, 0).repeat(4, 1))
    return path


def test_table():
    assert sorted(v for v in LABEL_TO_TRAIN_ID.values() if v != 255) == list(
        range(19))
    ids = np.array([[7, 26, 0, 33], [24, 23, 9, 200]], np.uint8)
    assert labelids_to_trainids(ids).tolist() == [[0, 13, 255, 18],
                                                  [11, 10, 255, 255]]
    with pytest.raises(ValueError, match='single-channel'):
        labelids_to_trainids(np.zeros((2, 2, 3), np.uint8))


@pytest.mark.parametrize('nproc', [1, 2])
def test_convert_tree(tmp_path, nproc):
    root = str(tmp_path)
    src = _write_label_ids(root, 'aachen', 'aachen_000000_000019',
                           [[7, 26], [0, 11]])
    _write_label_ids(root, 'bremen', 'bremen_000001_000019', [[8, 8]])
    n = convert_cityscapes_trainids(root, nproc=nproc, progress=False)
    assert n == 2
    out = cv2.imread(src.replace('labelIds', 'labelTrainIds'),
                     cv2.IMREAD_UNCHANGED)
    assert out.dtype == np.uint8 and out.shape == (8, 8)
    assert out[0, 0] == 0 and out[0, 4] == 13
    assert out[4, 0] == 255 and out[4, 4] == 2
    assert convert_cityscapes_trainids(root, skip_existing=True,
                                       progress=False) == 0
    assert not [f for _, _, fs in os.walk(root) for f in fs
                if f.startswith('.')]  # no temporary files left


def test_errors_name_paths(tmp_path):
    with pytest.raises(FileNotFoundError, match='nowhere'):
        convert_cityscapes_trainids(str(tmp_path / 'nowhere'))
    with pytest.raises(FileNotFoundError, match='_gtFine_labelIds.png'):
        convert_cityscapes_trainids(str(tmp_path))


def test_cli(tmp_path):
    src = _write_label_ids(str(tmp_path), 'ulm', 'ulm_000000_000019',
                           [[26]])
    proc = run([tool('dataset_converters/cityscapes_trainids.py'),
                str(tmp_path), '--nproc', '2'])
    assert 'wrote 1 ' in proc.stdout
    out = cv2.imread(src.replace('labelIds', 'labelTrainIds'),
                     cv2.IMREAD_UNCHANGED)
    assert (out == 13).all()
