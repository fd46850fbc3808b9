import os
import os.path as osp

import cv2
import numpy as np
import pytest

from mmvidseg.datasets import CamVidVideoDataset
from mmvidseg.datasets.camvid_video_dataset import (CAMVID_SEGNET_METAINFO,
                                                    CAMVID_TMANET_METAINFO)

PIPELINE = [
    dict(type='SampleClip',
         policy=dict(type='FixedOffsetClipPolicy', offsets=(-2, -1))),
    dict(type='LoadVideoFrames'),
    dict(type='PackVideoSegInputs'),
]


def _img(path, value):
    os.makedirs(osp.dirname(path), exist_ok=True)
    cv2.imwrite(path, np.full((8, 16, 3), value, np.uint8))


def _seg(path, value, corner=None):
    os.makedirs(osp.dirname(path), exist_ok=True)
    seg = np.full((8, 16), value, np.uint8)
    if corner is not None:
        seg[0, 0] = corner
    cv2.imwrite(path, seg)


def _nearest(pipeline):
    """``pipeline`` with ``missing_frames='nearest'`` in its clip policy."""
    policy = dict(pipeline[0]['policy'], missing_frames='nearest')
    return [dict(pipeline[0], policy=policy)] + pipeline[1:]


def _item(ds, name):
    for i in range(len(ds)):
        if osp.basename(ds.get_data_info(i)['img_path']).startswith(name):
            return i
    raise KeyError(name)


# ----------------------------------------------------------------- SegNet
@pytest.fixture
def segnet_root(tmp_path):
    root = str(tmp_path)
    for split, names in dict(
            train=['0001TP_006690', '0001TP_006720', '0001TP_006750',
                   '0006R0_f00930', '0006R0_f00960'],
            test=['Seq05VD_f00000', 'Seq05VD_f00030']).items():
        for i, name in enumerate(names):
            _img(osp.join(root, split, name + '.jpg'), 10 * i)
            _seg(osp.join(root, split + 'annot', name + '.png'), i % 11,
                 corner=11)
    return root


def test_segnet_tables(segnet_root):
    ds = CamVidVideoDataset(data_root=segnet_root, split='train')
    assert list(ds.video_table) == ['0001TP', '0006R0']
    assert [osp.basename(p) for p in ds.video_table['0006R0']['img_paths']
            ] == ['0006R0_f00930.jpg', '0006R0_f00960.jpg']
    assert len(ds) == 5
    assert ds.metainfo['classes'] == CAMVID_SEGNET_METAINFO['classes']
    assert ds.label_map == {11: 255}
    assert ds.get_data_info(0)['label_map'] == {11: 255}
    test = CamVidVideoDataset(data_root=segnet_root, split='test')
    assert list(test.video_table) == ['Seq05VD']


def test_segnet_pipeline_maps_unlabelled(segnet_root):
    ds = CamVidVideoDataset(data_root=segnet_root, split='train',
                            pipeline=PIPELINE)
    out = ds[_item(ds, '0001TP_006750')]
    sample = out['data_samples']
    assert sample.frame_ids == [0, 1, 2]
    assert out['inputs'][:, 0, 0, 0].tolist() == [0, 10, 20]
    gt = sample.gt_sem_seg.data
    assert gt[0, 0, 0] == 255 and (gt[0].flatten()[1:] == 2).all()
    # reference labels are mapped too
    assert (sample.gt_clip_seg.data[:, 0, 0] == 255).all()


def test_segnet_class_subset(segnet_root):
    ds = CamVidVideoDataset(data_root=segnet_root, split='train',
                            metainfo=dict(classes=('Road', 'Car')))
    assert ds.label_map[3] == 0 and ds.label_map[8] == 1
    assert ds.label_map[0] == 255 and ds.label_map[11] == 255
    assert ds.metainfo['palette'] == [[128, 64, 128], [64, 0, 128]]
    with pytest.raises(ValueError, match='Lane'):
        CamVidVideoDataset(data_root=segnet_root,
                           metainfo=dict(classes=('Road', 'Lane')))


def test_segnet_missing_files(segnet_root):
    with pytest.raises(FileNotFoundError, match=r'valannot|val'):
        CamVidVideoDataset(data_root=segnet_root, split='val')
    os.remove(osp.join(segnet_root, 'trainannot', '0006R0_f00960.png'))
    with pytest.raises(FileNotFoundError, match='0006R0_f00960.png'):
        CamVidVideoDataset(data_root=segnet_root, split='train')
    os.remove(osp.join(segnet_root, 'test', 'Seq05VD_f00030.jpg'))
    with pytest.raises(FileNotFoundError, match='Seq05VD_f00030'):
        CamVidVideoDataset(data_root=segnet_root, split='test')
    with pytest.raises(ValueError, match='layout'):
        CamVidVideoDataset(data_root=segnet_root, layout='camvid')


def test_segnet_real_data(shared_data):
    root = osp.join(shared_data, 'camvid')
    val = CamVidVideoDataset(data_root=root, split='val', pipeline=PIPELINE)
    assert {k: len(v['img_paths']) for k, v in val.video_table.items()
            } == {'0016E5': 101}
    train = CamVidVideoDataset(data_root=root, split='train',
                               pipeline=PIPELINE)
    assert {k: len(v['img_paths']) for k, v in train.video_table.items()
            } == {'0001TP': 62, '0006R0': 101, '0016E5': 204}
    assert len(train) == 367
    paths = train.video_table['0016E5']['img_paths']
    nums = [int(osp.basename(p)[7:12]) for p in paths]
    assert nums == sorted(nums)
    out = train[_item(train, osp.basename(paths[10])[:-4])]
    sample = out['data_samples']
    assert sample.video_id == '0016E5' and sample.frame_ids == [8, 9, 10]
    assert sample.clip_img_paths == paths[8:11]
    gt = sample.gt_sem_seg.data.numpy()
    raw = cv2.imread(paths[10].replace('train', 'trainannot')
                     .replace('.jpg', '.png'), cv2.IMREAD_UNCHANGED)
    assert (raw == 11).any()
    assert (gt[0][raw == 11] == 255).all()
    assert (gt[0][raw != 11] == raw[raw != 11]).all()
    assert set(np.unique(gt)) <= set(range(11)) | {255}
    test = CamVidVideoDataset(data_root=root, split='test')
    assert sorted(test.video_table) == ['0001TP', 'Seq05VD']


# ----------------------------------------------------------------- TMANet
@pytest.fixture
def tmanet_root(tmp_path):
    root = str(tmp_path)
    for f in range(7955, 7966):
        _img(osp.join(root, 'images_sequence', f'0016E5_{f:05d}.png'),
             f - 7950)
    for f in range(5):
        _img(osp.join(root, 'images_sequence', f'Seq05VD_f{f:05d}.png'), f)
    _img(osp.join(root, 'images_sequence', '01TP_extract_000000.png'), 0)
    for name, value in [('0016E5_07959', 4), ('0016E5_07963', 9),
                        ('0016E5_07970', 1), ('Seq05VD_f00003', 0)]:
        _img(osp.join(root, 'images', name + '.png'), 200)
        _seg(osp.join(root, 'labels', name + '_L.png'), value)
    os.makedirs(osp.join(root, 'annotations'))
    with open(osp.join(root, 'annotations', 'train.txt'), 'w') as f:
        f.write('0016E5_07959\nSeq05VD_f00003.png\n\n')
    with open(osp.join(root, 'annotations', 'val.txt'), 'w') as f:
        f.write('0016E5_07963\n0016E5_07970\n')
    return root


def test_tmanet_tables(tmanet_root):
    ds = CamVidVideoDataset(data_root=tmanet_root, layout='tmanet')
    assert ds.metainfo['classes'] == CAMVID_TMANET_METAINFO['classes']
    assert ds.metainfo['classes'][0] == 'void' and ds.label_map is None
    assert list(ds.video_table) == ['0016E5', 'Seq05VD']
    table = ds.video_table['0016E5']
    assert len(table['img_paths']) == 11
    assert [i for i, s in enumerate(table['seg_map_paths'])
            if s is not None] == [4]
    assert table['seg_map_paths'][4] == osp.join(
        tmanet_root, 'labels', '0016E5_07959_L.png')
    assert len(ds) == 2
    info = ds.get_data_info(_item(ds, 'Seq05VD_f00003'))
    assert info['frame_id'] == 3
    # the key frame is the labelled image, as in TMANet
    assert info['img_path'] == osp.join(tmanet_root, 'images',
                                        'Seq05VD_f00003.png')
    assert table['frame_numbers'] == list(range(7955, 7966))
    assert table['key_img_paths'][4] == osp.join(tmanet_root, 'images',
                                                 '0016E5_07959.png')
    assert table['key_img_paths'][:4] == [None] * 4
    assert table['frame_path_fmt'] == osp.join(
        tmanet_root, 'images_sequence', '0016E5_{:05d}.png')


def test_tmanet_fallback_and_pipeline(tmanet_root):
    ds = CamVidVideoDataset(data_root=tmanet_root, layout='tmanet',
                            split='val', pipeline=PIPELINE)
    paths = ds.video_table['0016E5']['img_paths']
    assert len(paths) == 12  # 07970 falls back to images/, in order
    assert paths[-1] == osp.join(tmanet_root, 'images', '0016E5_07970.png')
    out = ds[_item(ds, '0016E5_07963')]
    sample = out['data_samples']
    assert sample.frame_ids == [6, 7, 8]
    # memory frames 07961, 07962 from images_sequence, the key from images/
    assert out['inputs'][:, 0, 0, 0].tolist() == [11, 12, 200]
    assert (sample.gt_sem_seg.data == 9).all()  # no mapping in this layout
    # the labelled frame of another split is a plain memory frame
    assert ds.video_table['0016E5']['seg_map_paths'][4] is None
    # memory frames 07968, 07969 of 07970 were not extracted
    with pytest.raises(FileNotFoundError,
                       match=r'images_sequence.0016E5_07968.png'):
        ds[_item(ds, '0016E5_07970')]
    ds = CamVidVideoDataset(data_root=tmanet_root, layout='tmanet',
                            split='val', pipeline=_nearest(PIPELINE))
    out = ds[_item(ds, '0016E5_07970')]
    assert out['data_samples'].frame_ids == [11, 11, 11]
    assert (out['data_samples'].gt_sem_seg.data == 1).all()


def test_tmanet_missing_files(tmanet_root):
    with pytest.raises(FileNotFoundError, match=r'annotations.test.txt'):
        CamVidVideoDataset(data_root=tmanet_root, layout='tmanet',
                           split='test')
    os.remove(osp.join(tmanet_root, 'images', '0016E5_07970.png'))
    with pytest.raises(FileNotFoundError,
                       match=r'0016E5_07970.*images.0016E5_07970.png'):
        CamVidVideoDataset(data_root=tmanet_root, layout='tmanet',
                           split='val')
    os.remove(osp.join(tmanet_root, 'labels', '0016E5_07959_L.png'))
    with pytest.raises(FileNotFoundError, match='0016E5_07959_L.png'):
        CamVidVideoDataset(data_root=tmanet_root, layout='tmanet')
    os.rename(osp.join(tmanet_root, 'images_sequence'),
              osp.join(tmanet_root, 'frames'))
    with pytest.raises(FileNotFoundError, match='images_sequence'):
        CamVidVideoDataset(data_root=tmanet_root, layout='tmanet')


def _offset_tree(root, shift, frames=range(7955, 7966), skip=()):
    """TMANet layout whose ``images_sequence/0016E5_<n>`` holds video frame
    ``n + shift`` (a wrongly numbered extraction); video frame ``n`` has the
    value ``n - 7950``; ``images/`` and labels of 07959 and 07963."""
    for f in frames:
        if f not in skip:
            _img(osp.join(root, 'images_sequence', f'0016E5_{f:05d}.png'),
                 f + shift - 7950)
    for f in range(-1, 3):  # TMANet's script also writes frame -1
        _img(osp.join(root, 'images_sequence', f'Seq05VD_f{f:05d}.png'),
             100 + f)
    for name, value in [('0016E5_07959', 9), ('0016E5_07963', 13),
                        ('Seq05VD_f00001', 101)]:
        _img(osp.join(root, 'images', name + '.png'), value)
        _seg(osp.join(root, 'labels', name + '_L.png'), 1)
    os.makedirs(osp.join(root, 'annotations'))
    with open(osp.join(root, 'annotations', 'train.txt'), 'w') as f:
        f.write('0016E5_07959\n0016E5_07963\nSeq05VD_f00001\n')
    return str(root)


def test_tmanet_key_frame_from_labelled_image(tmp_path):
    root = _offset_tree(tmp_path, shift=1)
    ds = CamVidVideoDataset(data_root=root, layout='tmanet',
                            pipeline=PIPELINE)
    out = ds[_item(ds, '0016E5_07963')]
    # key: the labelled image (13); memory: sequence 07961, 07962 (12, 13)
    assert out['inputs'][:, 0, 0, 0].tolist() == [12, 13, 13]
    assert out['data_samples'].img_path == osp.join(root, 'images',
                                                    '0016E5_07963.png')
    # reading the key from images_sequence pairs the label with frame 07964
    seq = CamVidVideoDataset(data_root=root, layout='tmanet',
                             key_img_dir=None, pipeline=PIPELINE)
    assert seq[_item(seq, '0016E5_07963')]['inputs'][:, 0, 0, 0].tolist(
    ) == [12, 13, 14]


def test_tmanet_memory_frames_by_number(tmp_path):
    root = _offset_tree(tmp_path, shift=0, skip=(7961, ))
    ds = CamVidVideoDataset(data_root=root, layout='tmanet',
                            pipeline=PIPELINE)
    assert ds.video_table['0016E5']['frame_numbers'] == [
        7955, 7956, 7957, 7958, 7959, 7960, 7962, 7963, 7964, 7965]
    assert ds[_item(ds, '0016E5_07959')]['inputs'][:, 0, 0, 0].tolist() == [
        7, 8, 9]
    with pytest.raises(FileNotFoundError,
                       match=r"'0016E5'.*images_sequence.0016E5_07961.png"):
        ds[_item(ds, '0016E5_07963')]
    ds = CamVidVideoDataset(data_root=root, layout='tmanet',
                            pipeline=_nearest(PIPELINE))
    out = ds[_item(ds, '0016E5_07963')]
    # 07961 is missing: 07960 and 07962 are as near, the earlier is taken
    assert out['data_samples'].frame_ids == [5, 6, 7]
    assert out['inputs'][:, 0, 0, 0].tolist() == [10, 12, 13]
    # Seq05VD_f-0001 is not frame 1
    assert ds.video_table['Seq05VD']['frame_numbers'] == [0, 1, 2]
    assert ds.video_table['Seq05VD']['frame_path_fmt'].endswith(
        'Seq05VD_f{:05d}.png')
    # start of a video: the first frame is repeated (number -1 -> 0)
    out = ds[_item(ds, 'Seq05VD_f00001')]
    assert out['data_samples'].frame_ids == [0, 0, 1]
    assert out['inputs'][:, 0, 0, 0].tolist() == [100, 100, 101]
