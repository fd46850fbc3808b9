import os.path as osp

import cv2
import numpy as np
import pytest

from mmvidseg.datasets import VideoFolderDataset


def _write_video(root, name, n, size=(8, 10), labels=True, skip=()):
    for i in range(n):
        img = np.full(size + (3, ), i * 10, np.uint8)
        path = osp.join(root, 'img', name, f'{i:03d}.jpg')
        import os
        os.makedirs(osp.dirname(path), exist_ok=True)
        cv2.imwrite(path, img)
        if labels and i not in skip:
            lpath = osp.join(root, 'ann', name, f'{i:03d}.png')
            os.makedirs(osp.dirname(lpath), exist_ok=True)
            cv2.imwrite(lpath, np.full(size, i % 2, np.uint8))


def test_folder_layout(tmp_path):
    _write_video(str(tmp_path), 'a', 4, skip=(1, ))
    _write_video(str(tmp_path), 'b', 3)
    ds = VideoFolderDataset(
        data_root=str(tmp_path), data_prefix=dict(img_path='img',
                                                  seg_map_path='ann'),
        metainfo=dict(classes=('bg', 'fg')))
    assert len(ds) == 6  # frame a/001 is unlabelled
    assert ds.video_table['a']['seg_map_paths'][1] is None
    ds_all = VideoFolderDataset(
        data_root=str(tmp_path), frames='all',
        data_prefix=dict(img_path='img', seg_map_path='ann'),
        metainfo=dict(classes=('bg', 'fg')), videos=['b'])
    assert len(ds_all) == 3


def test_empty_video_names_folder(tmp_path):
    _write_video(str(tmp_path), 'a', 2)
    (tmp_path / 'img' / 'empty').mkdir()
    with pytest.raises(ValueError, match=r'empty.*holds no frames'):
        VideoFolderDataset(
            data_root=str(tmp_path),
            data_prefix=dict(img_path='img', seg_map_path='ann'),
            metainfo=dict(classes=('bg', 'fg')))


def test_missing_folders_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='nowhere'):
        VideoFolderDataset(
            data_root=str(tmp_path),
            data_prefix=dict(img_path='nowhere', seg_map_path=''),
            metainfo=dict(classes=('bg', 'fg')))
    _write_video(str(tmp_path), 'a', 2)
    with pytest.raises(FileNotFoundError, match="video folder .*zzz"):
        VideoFolderDataset(
            data_root=str(tmp_path), videos=['zzz'],
            data_prefix=dict(img_path='img', seg_map_path='ann'),
            metainfo=dict(classes=('bg', 'fg')))
