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
    assert info['img_path'] == osp.join(tmanet_root, 'images_sequence',
                                        'Seq05VD_f00003.png')


def test_tmanet_fallback_and_pipeline(tmanet_root):
    ds = CamVidVideoDataset(data_root=tmanet_root, layout='tmanet',
                            split='val', pipeline=PIPELINE)
    paths = ds.video_table['0016E5']['img_paths']
    assert len(paths) == 12  # 07970 falls back to images/, in order
    assert paths[-1] == osp.join(tmanet_root, 'images', '0016E5_07970.png')
    out = ds[_item(ds, '0016E5_07963')]
    sample = out['data_samples']
    assert sample.frame_ids == [6, 7, 8]
    assert out['inputs'][:, 0, 0, 0].tolist() == [11, 12, 13]
    assert (sample.gt_sem_seg.data == 9).all()  # no mapping in this layout
    # the labelled frame of another split is a plain memory frame
    assert ds.video_table['0016E5']['seg_map_paths'][4] is None
    out = ds[_item(ds, '0016E5_07970')]
    assert out['data_samples'].frame_ids == [9, 10, 11]
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
