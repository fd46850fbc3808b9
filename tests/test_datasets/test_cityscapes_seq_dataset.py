import os
import os.path as osp

import cv2
import numpy as np
import pytest
from mmseg.datasets import CityscapesDataset

from mmvidseg.datasets import CityscapesSeqDataset
from mmvidseg.registry import DATASETS

PIPELINE = [
    dict(type='SampleClip',
         policy=dict(type='FixedOffsetClipPolicy', offsets=(-2, -1))),
    dict(type='LoadVideoFrames'),
    dict(type='PackVideoSegInputs'),
]


def _frame(root, split, city, seq, frame, label=None):
    name = f'{city}_{seq:06d}_{frame:06d}'
    path = osp.join(root, 'leftImg8bit_sequence', split, city,
                    name + '_leftImg8bit.png')
    os.makedirs(osp.dirname(path), exist_ok=True)
    cv2.imwrite(path, np.full((8, 16, 3), frame % 256, np.uint8))
    if label is not None:
        _label(root, split, city, seq, frame, label)
        _key_image(root, split, city, seq, frame, frame % 256)
    return path


def _key_image(root, split, city, seq, frame, value):
    """The labelled frame in leftImg8bit/ (TMANet reads the key there)."""
    path = osp.join(root, 'leftImg8bit', split, city,
                    f'{city}_{seq:06d}_{frame:06d}_leftImg8bit.png')
    os.makedirs(osp.dirname(path), exist_ok=True)
    cv2.imwrite(path, np.full((8, 16, 3), value, np.uint8))
    return path


def _label(root, split, city, seq, frame, value):
    path = osp.join(root, 'gtFine', split, city,
                    f'{city}_{seq:06d}_{frame:06d}_gtFine_labelTrainIds.png')
    os.makedirs(osp.dirname(path), exist_ok=True)
    seg = np.full((8, 16), value, np.uint8)
    seg[0, 0] = 255
    cv2.imwrite(path, seg)
    # other gtFine files must be ignored
    cv2.imwrite(path.replace('labelTrainIds', 'labelIds'), seg)
    return path


@pytest.fixture
def cs_root(tmp_path):
    root = str(tmp_path)
    for f in range(14, 19):  # aachen 000003: frames 14..18, label at 17
        _frame(root, 'train', 'aachen', 3, f, label=5 if f == 17 else None)
    # bochum reuses seq 0 for two snippets (gap between 301 and 500)
    for f in (299, 300, 301):
        _frame(root, 'train', 'bochum', 0, f, label=13 if f == 301 else None)
    for f in (500, 501, 502):
        _frame(root, 'train', 'bochum', 0, f, label=0 if f == 500 else None)
    _frame(root, 'val', 'lindau', 0, 7, label=1)
    return root


def test_frame_tables_and_items(cs_root):
    ds = CityscapesSeqDataset(data_root=cs_root, split='train')
    assert set(ds.video_table) == {'aachen_000003', 'bochum_000000_000299',
                                   'bochum_000000_000500'}
    table = ds.video_table['aachen_000003']
    assert [osp.basename(p)[:20] for p in table['img_paths']] == [
        f'aachen_000003_{f:06d}' for f in range(14, 19)]
    assert [p is not None for p in table['seg_map_paths']] == [
        False, False, False, True, False]
    assert table['seg_map_paths'][3].endswith(
        osp.join('gtFine', 'train', 'aachen',
                 'aachen_000003_000017_gtFine_labelTrainIds.png'))
    assert len(ds) == 3
    items = {ds.get_data_info(i)['video_id']: ds.get_data_info(i)
             for i in range(len(ds))}
    assert items['aachen_000003']['frame_id'] == 3
    assert items['bochum_000000_000299']['frame_id'] == 2
    assert items['bochum_000000_000500']['frame_id'] == 0
    assert ds.metainfo['classes'] == CityscapesDataset.METAINFO['classes']
    ds_all = CityscapesSeqDataset(data_root=cs_root, split='train',
                                  frames='all')
    assert len(ds_all) == 11


def test_pipeline(cs_root):
    ds = CityscapesSeqDataset(data_root=cs_root, split='train',
                              pipeline=PIPELINE)
    idx = [i for i in range(len(ds))
           if ds.get_data_info(i)['video_id'] == 'aachen_000003'][0]
    out = ds[idx]
    sample = out['data_samples']
    assert sample.frame_ids == [1, 2, 3]
    assert out['inputs'].shape == (3, 3, 8, 16)
    # frames hold their frame number: 15, 16, 17
    assert out['inputs'][:, 0, 0, 0].tolist() == [15, 16, 17]
    gt = sample.gt_sem_seg.data
    assert gt[0, 0, 0] == 255 and (gt[0, 1:] == 5).all()
    # the first frame of a snippet is clamped, never from another snippet
    idx = [i for i in range(len(ds)) if ds.get_data_info(i)['video_id'] ==
           'bochum_000000_000500'][0]
    assert ds[idx]['data_samples'].frame_ids == [0, 0, 0]


def test_build_from_registry(cs_root):
    ds = DATASETS.build(
        dict(type='CityscapesSeqDataset', data_root=cs_root, split='val'))
    assert list(ds.video_table) == ['lindau_000000']
    assert len(ds) == 1


def test_no_labels(cs_root):
    ds = CityscapesSeqDataset(data_root=cs_root, split='train', ann_dir=None)
    assert len(ds) == 11  # every frame is an item
    assert ds.video_table['aachen_000003']['seg_map_paths'] is None


def test_label_without_frame(cs_root):
    _label(cs_root, 'train', 'aachen', 3, 40, 2)
    with pytest.raises(FileNotFoundError,
                       match='aachen_000003_000040_leftImg8bit.png'):
        CityscapesSeqDataset(data_root=cs_root, split='train')
    _label(cs_root, 'val', 'ulm', 1, 19, 2)  # whole city missing
    with pytest.raises(FileNotFoundError,
                       match=r'ulm.ulm_000001_000019_leftImg8bit.png'):
        CityscapesSeqDataset(data_root=cs_root, split='val')


def test_missing_split_folders(cs_root):
    with pytest.raises(FileNotFoundError,
                       match=r'leftImg8bit_sequence.test'):
        CityscapesSeqDataset(data_root=cs_root, split='test')
    os.makedirs(osp.join(cs_root, 'leftImg8bit_sequence', 'test'))
    with pytest.raises(FileNotFoundError, match=r'gtFine.test'):
        CityscapesSeqDataset(data_root=cs_root, split='test')


def test_bad_names_and_args(cs_root):
    bad = osp.join(cs_root, 'leftImg8bit_sequence', 'val', 'lindau',
                   'lindau_x_leftImg8bit.png')
    cv2.imwrite(bad, np.zeros((8, 16, 3), np.uint8))
    with pytest.raises(ValueError, match='lindau_x_leftImg8bit.png'):
        CityscapesSeqDataset(data_root=cs_root, split='val')
    with pytest.raises(TypeError, match='data_prefix'):
        CityscapesSeqDataset(data_root=cs_root, data_prefix=dict())


def _key_item(ds, video_id):
    return [i for i in range(len(ds))
            if ds.get_data_info(i)['video_id'] == video_id][0]


def test_key_frame_from_labelled_images(cs_root):
    # the sequence frame at the key's number differs from the labelled image
    key = _key_image(cs_root, 'train', 'aachen', 3, 17, 99)
    ds = CityscapesSeqDataset(data_root=cs_root, split='train',
                              pipeline=PIPELINE)
    idx = _key_item(ds, 'aachen_000003')
    assert ds.get_data_info(idx)['img_path'] == key
    table = ds.video_table['aachen_000003']
    assert table['frame_numbers'] == [14, 15, 16, 17, 18]
    assert table['key_img_paths'] == [None, None, None, key, None]
    out = ds[idx]
    # memory frames 15, 16 from the sequence, the key from leftImg8bit
    assert out['inputs'][:, 0, 0, 0].tolist() == [15, 16, 99]
    assert out['data_samples'].img_path == key
    old = CityscapesSeqDataset(data_root=cs_root, split='train',
                               key_img_dir=None, pipeline=PIPELINE)
    assert old[idx]['inputs'][:, 0, 0, 0].tolist() == [15, 16, 17]
    os.remove(key)
    with pytest.raises(FileNotFoundError,
                       match=r'leftImg8bit.train.aachen.aachen_000003_000017'):
        CityscapesSeqDataset(data_root=cs_root, split='train')


def test_memory_frames_by_frame_number(cs_root):
    os.remove(osp.join(cs_root, 'leftImg8bit_sequence', 'train', 'aachen',
                       'aachen_000003_000016_leftImg8bit.png'))
    ds = CityscapesSeqDataset(data_root=cs_root, split='train',
                              pipeline=PIPELINE)
    # a missing frame inside a snippet does not start a new video
    assert ds.video_table['aachen_000003']['frame_numbers'] == [
        14, 15, 17, 18]
    idx = _key_item(ds, 'aachen_000003')
    with pytest.raises(FileNotFoundError,
                       match=r'sequence.train.aachen.aachen_000003_000016_'
                       r'leftImg8bit.png'):
        ds[idx]
    nearest = [dict(PIPELINE[0], policy=dict(
        type='FixedOffsetClipPolicy', offsets=(-2, -1),
        missing_frames='nearest'))] + PIPELINE[1:]
    ds = CityscapesSeqDataset(data_root=cs_root, split='train',
                              pipeline=nearest)
    out = ds[idx]
    # 16 is missing: 15 and 17 are as near, the earlier one is taken
    assert out['data_samples'].frame_ids == [1, 1, 2]
    assert out['inputs'][:, 0, 0, 0].tolist() == [15, 15, 17]
    with pytest.raises(ValueError, match='snippet_gap'):
        CityscapesSeqDataset(data_root=cs_root, snippet_gap=0)
