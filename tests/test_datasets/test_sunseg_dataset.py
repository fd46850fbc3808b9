"""SUNSEGDataset: layout, natural frame order, raw grey labels, base config."""
import os
import os.path as osp
import shutil

import cv2
import numpy as np
import pytest
from mmengine.config import Config

from mmvidseg.datasets import SUNSEGDataset
from mmvidseg.datasets.sunseg_dataset import SUNSEG_SPLITS, natural_key
from mmvidseg.registry import DATASETS, TRANSFORMS
from mmvidseg.utils import check_config_keys

from .sunseg_fake import fake_frame_name, make_fake_sunseg


def _dataset(**kwargs):
    # no serialisation: its gc.collect() costs ~0.4 s per dataset here
    return SUNSEGDataset(serialize_data=False, **kwargs)


@pytest.fixture(scope='module')
def fake_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('sunseg'))
    make_fake_sunseg(root, cases=2, frames=6, size=(40, 48))
    return root


def test_every_split_loads(fake_root):
    for split in SUNSEG_SPLITS:
        ds = _dataset(data_root=fake_root, split=split)
        assert len(ds) == 12
        assert list(ds.video_table) == ['case1', 'case2']
    ds = _dataset(data_root=fake_root, split='TestHardDataset/Seen/',
                  frames='all', test_mode=True, cases=['case2'])
    assert len(ds) == 6 and list(ds.video_table) == ['case2']
    table = ds.video_table['case2']
    assert [osp.basename(p) for p in table['img_paths']] == [
        fake_frame_name(2, f) + '.jpg' for f in range(6)]
    # GT paired by stem
    assert [osp.splitext(osp.basename(p))[0]
            for p in table['seg_map_paths']] == [
                fake_frame_name(2, f) for f in range(6)]
    info = ds.get_data_info(3)
    assert info['frame_id'] == 3 and info['video_id'] == 'case2'
    assert info['label_map'] is None and info['reduce_zero_label'] is False
    assert ds.metainfo['classes'] == ('background', 'polyp')


def _case(root, split, case, stems):
    for sub, ext in (('Frame', '.jpg'), ('GT', '.png')):
        os.makedirs(osp.join(root, split, sub, case), exist_ok=True)
        for s in stems:
            cv2.imwrite(osp.join(root, split, sub, case, s + ext),
                        np.zeros((4, 4) if sub == 'GT' else (4, 4, 3),
                                 np.uint8))


def test_natural_and_plain_frame_order(tmp_path):
    # SUN-SEG names (fixed prefix per case, 4-digit numbers): same order
    sunseg = [fake_frame_name(1, f) for f in (99, 8, 9, 100, 0)]
    assert sorted(sunseg, key=natural_key) == sorted(sunseg)
    # unpadded numbers: image2 < image10 only in natural order
    stems = ['img_image10', 'img_image2', 'img_image1']
    _case(str(tmp_path), 'TrainDataset', 'case1', stems)
    names = {}
    for order in ('natural', 'plain'):
        ds = _dataset(data_root=str(tmp_path), frame_sort=order)
        names[order] = [osp.basename(p)[:-4]
                        for p in ds.video_table['case1']['img_paths']]
    assert names['natural'] == ['img_image1', 'img_image2', 'img_image10']
    assert names['plain'] == ['img_image1', 'img_image10', 'img_image2']
    assert sorted(['a2', 'a10', 'a01', 'a1'], key=natural_key) == [
        'a01', 'a1', 'a2', 'a10']


def test_errors_name_the_path(tmp_path, fake_root):
    with pytest.raises(ValueError, match="unknown SUN-SEG split 'Test'"):
        _dataset(data_root=fake_root, split='Test')
    with pytest.raises(FileNotFoundError, match=r'TrainDataset/Frame'):
        _dataset(data_root=str(tmp_path))
    with pytest.raises(ValueError, match='frame_sort'):
        _dataset(data_root=fake_root, frame_sort='alpha')
    with pytest.raises(ValueError, match='reduce_zero_label'):
        _dataset(data_root=fake_root, reduce_zero_label=True)
    with pytest.raises(ValueError, match='raw grey masks'):
        _dataset(data_root=fake_root, metainfo=dict(classes=('polyp', )))
    with pytest.raises(FileNotFoundError, match=r"case folder .*zzz"):
        _dataset(data_root=fake_root, cases=['zzz'])
    root = str(tmp_path / 'broken')
    shutil.copytree(osp.join(fake_root, 'TrainDataset'),
                    osp.join(root, 'TrainDataset'))
    gt = osp.join(root, 'TrainDataset', 'GT', 'case1',
                  fake_frame_name(1, 4) + '.png')
    os.remove(gt)
    with pytest.raises(FileNotFoundError,
                       match=r'image0005\.jpg.*has no GT .*image0005\.png'):
        _dataset(data_root=root)
    shutil.rmtree(osp.join(root, 'TrainDataset', 'GT', 'case1'))
    with pytest.raises(FileNotFoundError, match=r'GT folder .*GT/case1'):
        _dataset(data_root=root)
    empty = osp.join(root, 'TrainDataset', 'Frame', 'case0')
    os.makedirs(empty)
    os.makedirs(osp.join(root, 'TrainDataset', 'GT', 'case0'))
    with pytest.raises(ValueError, match=r'case0.*holds no \.jpg'):
        _dataset(data_root=root, cases=['case0'])


def test_labels_stay_raw_grey(tmp_path):
    """255 stays 255 (no ignore remap, no reduce_zero_label, no label map)
    and grey values are not thresholded, in both label loaders."""
    _case(str(tmp_path), 'TrainDataset', 'case1', ['x_image0001',
                                                   'x_image0002'])
    gt = np.array([[0, 1, 128, 254], [255, 255, 0, 7]] * 2, np.uint8)
    for s in ('x_image0001', 'x_image0002'):
        cv2.imwrite(osp.join(tmp_path, 'TrainDataset', 'GT', 'case1',
                             s + '.png'), gt)
    ds = _dataset(
        data_root=str(tmp_path), pipeline=[
            dict(type='SampleClip', policy=dict(type='SALIClipPolicy',
                                                mode='test')),
            dict(type='LoadVideoFrames'),
        ])
    out = ds[0]
    assert all((s == gt).all() for s in out['gt_seg_map'])
    res = TRANSFORMS.build(dict(type='LoadVideoAnnotations'))(dict(
        seg_map_path=ds.video_table['case1']['seg_map_paths'],
        ori_shape=[(4, 4)] * 2, img_path=ds.video_table['case1']['img_paths'],
        label_map=ds.label_map, reduce_zero_label=ds.reduce_zero_label))
    assert all((s == gt).all() for s in res['gt_seg_map'])


def _base_cfg(fake_root, repo_root):
    cfg = Config.fromfile(
        osp.join(repo_root, 'configs', '_base_', 'datasets',
                 'sunseg_352x352.py'))
    check_config_keys(cfg)
    for split in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[split].dataset.data_root = fake_root
    return cfg


def test_base_config_train_pipeline(fake_root, repo_root):
    cfg = _base_cfg(fake_root, repo_root)
    assert cfg.train_dataloader.dataset.split == 'TrainDataset'
    ds = DATASETS.build(cfg.train_dataloader.dataset)
    np.random.seed(0)
    out = ds[4]
    sample = out['data_samples']
    assert out['inputs'].shape == (3, 3, 352, 352)
    mem, cur, nb = sample.frame_ids
    assert cur == 4 and nb == 5 and 0 <= mem <= 3
    assert sample.key_index == 1
    assert sample.supervised == [False, True, False]
    clip = sample.gt_clip_seg.data
    assert clip.shape == (3, 352, 352)
    assert int(clip.min()) == 0 and int(clip.max()) == 255
    assert len(np.unique(clip.numpy())) > 2  # soft masks
    assert (sample.gt_sem_seg.data[0] == clip[1]).all()
    assert sample.img_shape == (352, 352)
    # the first frame: memory and neighbour are frame 1
    assert ds[0]['data_samples'].frame_ids == [1, 0, 1]


@pytest.mark.parametrize('split, name', [
    ('val_dataloader', 'TestHardDataset/Seen'),
    ('test_dataloader', 'TestEasyDataset/Unseen'),
])
def test_base_config_streaming_pipelines(fake_root, repo_root, split, name):
    cfg = _base_cfg(fake_root, repo_root)
    loader = cfg[split]
    assert loader.dataset.split == name and loader.batch_size == 1
    assert loader.sampler.type == 'VideoSequentialSampler'
    assert cfg.val_evaluator == dict(type='VPSMetric')
    ds = DATASETS.build(loader.dataset)
    assert len(ds) == 12
    last = ds[5]
    sample = last['data_samples']
    assert last['inputs'].shape == (2, 3, 352, 352)
    assert sample.frame_ids == [5, 4] and sample.key_index == 0
    assert sample.gt_sem_seg.data.shape == (1, 40, 48)  # original size
    assert set(np.unique(sample.gt_sem_seg.data.numpy())) == {0, 255}
    assert sample.ori_shape == (40, 48)
    assert ds[0]['data_samples'].frame_ids == [0, 1]
