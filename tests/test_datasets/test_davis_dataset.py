import os
import os.path as osp

import cv2
import numpy as np
import pytest
from PIL import Image

from mmvidseg.datasets import DAVISDataset
from mmvidseg.datasets.davis_dataset import davis_palette

PIPELINE = [
    dict(type='SampleClip',
         policy=dict(type='FixedOffsetClipPolicy', offsets=())),
    dict(type='LoadVideoFrames'),
    dict(type='PackVideoSegInputs'),
]


def _palette_png(path, ids):
    img = Image.fromarray(ids.astype(np.uint8), mode='P')
    img.putpalette(np.asarray(davis_palette(), np.uint8).reshape(-1).tolist())
    img.save(path)


def _fake_davis(root, seqs=('a', 'b'), n=4, split=None):
    for seq in seqs:
        os.makedirs(osp.join(root, 'JPEGImages', '480p', seq))
        os.makedirs(osp.join(root, 'Annotations', '480p', seq))
        for t in range(n):
            cv2.imwrite(osp.join(root, 'JPEGImages', '480p', seq,
                                 f'{t:05d}.jpg'),
                        np.full((8, 12, 3), 10 * t, np.uint8))
            ids = np.zeros((8, 12), np.uint8)
            ids[:4, :4] = 1
            ids[4:, 8:] = 3 if t >= 2 else 0  # object 3 appears at frame 2
            ids[0, 11] = 255  # void
            _palette_png(osp.join(root, 'Annotations', '480p', seq,
                                  f'{t:05d}.png'), ids)
    if split:
        os.makedirs(osp.join(root, 'ImageSets', '2017'))
        with open(osp.join(root, 'ImageSets', '2017', 'val.txt'), 'w') as f:
            f.write('\n'.join(split) + '\n')


def test_davis2017_layout(tmp_path):
    _fake_davis(str(tmp_path), split=['b'])
    ds = DAVISDataset(data_root=str(tmp_path), pipeline=PIPELINE)
    assert list(ds.video_table) == ['b'] and len(ds) == 4
    out = ds[3]['data_samples']
    gt = out.gt_sem_seg.data[0].numpy()
    assert set(np.unique(gt)) == {0, 1, 3, 255}  # ids and void kept
    assert out.video_id == 'b' and out.frame_id == 3
    ds_all = DAVISDataset(data_root=str(tmp_path), split='train')
    assert list(ds_all.video_table) == ['a', 'b']  # no split file: all


def test_davis_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='JPEGImages'):
        DAVISDataset(data_root=str(tmp_path))
    _fake_davis(str(tmp_path), seqs=('a', ))
    os.remove(tmp_path / 'Annotations' / '480p' / 'a' / '00000.png')
    with pytest.raises(FileNotFoundError, match='first-frame annotation'):
        DAVISDataset(data_root=str(tmp_path))


def test_davis2016_binary_masks(shared_data):
    root = osp.join(shared_data, 'davis2016')
    ds = DAVISDataset(data_root=root, binary_masks=True, pipeline=PIPELINE,
                      sequences=['car-shadow'])
    assert len(ds) == 40
    gt = ds[0]['data_samples'].gt_sem_seg.data[0].numpy()
    assert set(np.unique(gt)) == {0, 1}  # 255 read as object 1, not void
    assert gt.shape == (480, 854)
    raw = DAVISDataset(data_root=root, pipeline=PIPELINE,
                       sequences=['car-shadow'])
    assert 255 in np.unique(raw[0]['data_samples'].gt_sem_seg.data.numpy())
