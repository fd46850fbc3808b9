"""EndoVis18Dataset: layout, clean / noisy labels, video index, base config."""
import os
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config
from PIL import Image

from mmvidseg.datasets import EndoVis18Dataset
from mmvidseg.datasets.endovis18_dataset import (ENDOVIS18_CLASSES,
                                                 ENDOVIS18_TRAIN_SEQS)
from mmvidseg.registry import DATASETS, TRANSFORMS
from mmvidseg.utils import check_config_keys

from .endovis18_fake import fake_class_ids, make_fake_endovis18

SIZE = (32, 40)


def _dataset(**kwargs):
    return EndoVis18Dataset(serialize_data=False, **kwargs)


@pytest.fixture(scope='module')
def fake(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('endovis18'))
    info = make_fake_endovis18(root, seqs=(3, 9), frames=6, size=SIZE,
                               test_seqs=(1, 2))
    info['root'] = root
    return info


def test_clean_and_noisy_labels(fake):
    root = fake['root']
    ds = _dataset(data_root=root, split='train', videos=[3, 'seq_9'])
    assert ds.videos == ['seq_3', 'seq_9'] and len(ds) == 12
    assert ds.metainfo['classes'] == ENDOVIS18_CLASSES
    assert ds.metainfo['palette'][1] == [0, 255, 0]
    info = ds.get_data_info(7)
    assert (info['video_id'], info['frame_id'], info['video_index']) == (
        'seq_9', 1, 1)
    assert info['seg_map_path'] == osp.join(root, 'train', 'seq_9',
                                            'class_labels', 'frame001.png')
    assert len(info['video_img_paths']) == 6
    noisy = _dataset(data_root=root, split='train', videos=[3, 9],
                     label_dir=fake['noisy_label_dir'])
    assert noisy.get_data_info(0)['seg_map_path'] == osp.join(
        root, 'train_noisy_label', 'noisy_scene_labels_final_mask_v0',
        'seq_3', 'frame000.png')
    # absolute template; no labels
    tmpl = osp.join(root, 'train_noisy_label', '*', '{seq}').replace(
        '*', 'noisy_scene_labels_final_mask_v0')
    assert _dataset(data_root=root, videos=[3], label_dir=tmpl).get_data_info(
        2)['seg_map_path'].endswith(osp.join('seq_3', 'frame002.png'))
    assert _dataset(data_root=root, videos=[3], label_dir=None).get_data_info(
        0)['seg_map_path'] is None


def test_default_sequences_and_video_index(fake, tmp_path):
    # MS-TFAL's video index: seq < 9 -> seq - 1, else seq - 2
    assert [int(s) - (1 if s < 9 else 2) for s in ENDOVIS18_TRAIN_SEQS] == \
        list(range(15))
    root = str(tmp_path)
    make_fake_endovis18(root, seqs=ENDOVIS18_TRAIN_SEQS, frames=1,
                        size=(4, 4), test_seqs=(1, 2, 3, 4))
    ds = _dataset(data_root=root, split='train')
    assert ds.videos == [f'seq_{s}' for s in ENDOVIS18_TRAIN_SEQS]
    assert [ds.get_data_info(i)['video_index'] for i in range(15)] == list(
        range(15))
    assert _dataset(data_root=root, split='test').videos == [
        'seq_1', 'seq_2', 'seq_3', 'seq_4']


def test_frame_step_subset(fake):
    # MS-TFAL's test_part: frames 1, 5, 9, ... of the test split
    ds = _dataset(data_root=fake['root'], split='test', frame_step=4,
                  frame_offset=1, videos=[1, 2])
    assert [(ds.get_data_info(i)['video_id'], ds.get_data_info(i)[
        'frame_id']) for i in range(len(ds))] == [
            ('seq_1', 1), ('seq_1', 5), ('seq_2', 1), ('seq_2', 5)]
    assert len(ds.video_table['seq_1']['img_paths']) == 6


def test_errors(fake, tmp_path):
    root = fake['root']
    with pytest.raises(ValueError, match="'train' or 'test'"):
        _dataset(data_root=root, split='val')
    with pytest.raises(ValueError, match="int or 'seq_<n>'"):
        _dataset(data_root=root, videos=['3'])
    with pytest.raises(FileNotFoundError, match='seq_5.*left_frames'):
        _dataset(data_root=root, videos=[5])
    with pytest.raises(FileNotFoundError, match='label folder .*nope'):
        _dataset(data_root=root, videos=[3], label_dir='nope')
    with pytest.raises(ValueError, match='reduce_zero_label'):
        _dataset(data_root=root, reduce_zero_label=True)
    with pytest.raises(ValueError, match='no frame left'):
        _dataset(data_root=root, videos=[3], frame_offset=6)
    other = str(tmp_path)
    make_fake_endovis18(other, seqs=(1, ), frames=3, size=(4, 4))
    os.remove(osp.join(other, 'train', 'seq_1', 'class_labels',
                       'frame001.png'))
    with pytest.raises(FileNotFoundError,
                       match=r'frame001.png.* has no label .*1 frames'):
        _dataset(data_root=other, videos=[1])


def test_label_resize_matches_mstfal_pil_bilinear():
    # MS-TFAL (BeileiCui/MS-TFAL@538475e) resizes class-id labels with
    # PIL Image.resize((5, 4), BILINEAR); seeded 8x10 label, output from
    # /tmp/m4_golden/golden_clips.py
    label = np.random.RandomState(0).randint(0, 12, (8, 10)).astype(np.uint8)
    golden = [[5, 6, 7, 5, 5], [4, 5, 6, 4, 4], [3, 5, 4, 5, 6],
              [5, 5, 8, 5, 4]]
    resize = TRANSFORMS.build(dict(type='SoftMaskResize', scale=(5, 4)))
    out = resize(dict(img=np.zeros((8, 10, 3), np.uint8), gt_seg_map=label,
                      seg_fields=['gt_seg_map']))
    assert out['gt_seg_map'].tolist() == golden
    nearest = TRANSFORMS.build(dict(type='SoftMaskResize', scale=(5, 4),
                                    seg_interpolation='nearest'))
    out = nearest(dict(img=np.zeros((8, 10, 3), np.uint8), gt_seg_map=label,
                       seg_fields=['gt_seg_map']))
    expected = np.asarray(Image.fromarray(label).resize((5, 4),
                                                        Image.NEAREST))
    assert (out['gt_seg_map'] == expected).all()
    with pytest.raises(ValueError, match='seg_interpolation'):
        TRANSFORMS.build(dict(type='SoftMaskResize', seg_interpolation='x'))


def _base_cfg(root, repo_root):
    cfg = Config.fromfile(osp.join(repo_root, 'configs', '_base_', 'datasets',
                                   'endovis18_256x320.py'))
    check_config_keys(cfg)
    for split in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[split].dataset.data_root = root
    return cfg


def test_base_config_train_pipeline(fake, repo_root):
    cfg = _base_cfg(fake['root'], repo_root)
    assert cfg.train_dataloader.batch_size == 1
    cfg.train_dataloader.dataset.videos = [3, 9]
    ds = DATASETS.build(cfg.train_dataloader.dataset)
    out = ds[6]  # seq_9 frame 0
    sample = out['data_samples']
    assert out['inputs'].shape == (8, 3, 256, 320)
    assert sample.frame_ids == [3, 2, 1, 0, 4, 3, 2, 1]
    assert sample.clip_bounds == [(0, 4), (4, 8)] and sample.key_index == 3
    assert sample.video_id == 'seq_9' and sample.video_index == 1
    assert sample.supervised == [True] * 4 + [False] * 4
    clip = sample.gt_clip_seg.data
    assert clip.shape == (8, 256, 320)
    # noisy labels, resized with PIL bilinear as MS-TFAL (ids in between)
    noisy = np.asarray(Image.fromarray(fake_class_ids(SIZE, 2, True)).resize(
        (320, 256), Image.BILINEAR))
    assert (clip[1].numpy() == noisy).all()
    assert len(np.unique(noisy)) > len(np.unique(fake_class_ids(SIZE, 2)))
    # MS-TFAL's input: PIL RGB frame, bilinear to 320x256, / 255
    from mmengine.dataset import pseudo_collate

    from mmvidseg.registry import MODELS
    pre = MODELS.build(cfg.endovis18_data_preprocessor)
    x = pre(pseudo_collate([out]), training=True)['inputs']
    with Image.open(ds.video_table['seq_9']['img_paths'][2]) as img:
        ref = np.asarray(img.convert('RGB').resize((320, 256),
                                                   Image.BILINEAR)) / 255.
    assert x.shape == (1, 8, 3, 256, 320)
    assert np.allclose(x[0, 1].permute(1, 2, 0).numpy(), ref, atol=1e-6)


@pytest.mark.parametrize('split, frames', [('val_dataloader', [1, 5]),
                                           ('test_dataloader', range(6))])
def test_base_config_test_pipelines(fake, repo_root, split, frames):
    cfg = _base_cfg(fake['root'], repo_root)
    loader = cfg[split]
    assert loader.sampler.type == 'VideoSequentialSampler'
    assert cfg.test_evaluator == dict(type='EndoVisMetric')
    loader.dataset.videos = [1, 2]
    ds = DATASETS.build(loader.dataset)
    assert ds.videos == ['seq_1', 'seq_2']
    assert [ds.get_data_info(i)['frame_id'] for i in range(len(ds))] == \
        list(frames) * 2
    out = ds[1]
    sample = out['data_samples']
    assert out['inputs'].shape == (1, 3, 256, 320)
    assert sample.frame_ids == [frames[1]] and sample.ori_shape == SIZE
    gt = sample.gt_sem_seg.data[0].numpy()
    assert (gt == fake_class_ids(SIZE, frames[1])).all()  # original size
