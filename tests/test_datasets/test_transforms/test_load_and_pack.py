import os.path as osp

import cv2
import numpy as np
import pytest
import torch

from mmvidseg.registry import TRANSFORMS


def _write(tmp_path, n=3, size=(12, 16), label_size=None):
    imgs, segs = [], []
    for i in range(n):
        p = osp.join(tmp_path, f'{i}.png')
        cv2.imwrite(p, np.full(size + (3, ), 20 * i, np.uint8))
        s = osp.join(tmp_path, f'{i}_gt.png')
        cv2.imwrite(s, np.full(label_size or size, i, np.uint8))
        imgs.append(p)
        segs.append(s)
    return imgs, segs


def _load(**kw):
    return TRANSFORMS.build(dict(type='LoadVideoFrames', **kw))


def test_load_clip_lists(tmp_path):
    imgs, segs = _write(str(tmp_path))
    segs[1] = None  # unlabelled reference
    out = _load()(dict(img_path=imgs, seg_map_path=segs, key_index=2))
    assert len(out['img']) == 3 and out['img'][2][0, 0, 0] == 40
    assert (out['gt_seg_map'][1] == 255).all()
    assert (out['gt_seg_map'][2] == 2).all()
    assert out['img_shape'] == [(12, 16)] * 3
    assert out['flip'] == [False] * 3


def test_missing_frame_named(tmp_path):
    imgs, segs = _write(str(tmp_path))
    imgs[1] = str(tmp_path / 'gone.png')
    with pytest.raises(FileNotFoundError, match='gone.png'):
        _load()(dict(img_path=imgs, seg_map_path=segs))


def test_unreadable_frame_named(tmp_path):
    imgs, segs = _write(str(tmp_path))
    with open(imgs[0], 'wb') as f:
        f.write(b'not an image at all')
    with pytest.raises(OSError, match=r'cannot decode frame .*0\.png'):
        _load()(dict(img_path=imgs, seg_map_path=segs))


def test_label_size_mismatch_named(tmp_path):
    imgs, segs = _write(str(tmp_path), label_size=(6, 8))
    with pytest.raises(ValueError, match=r'label .*0_gt\.png.*frame .*0\.png'):
        _load()(dict(img_path=imgs, seg_map_path=segs))


def test_frame_size_mismatch_in_clip(tmp_path):
    imgs, segs = _write(str(tmp_path))
    cv2.imwrite(imgs[2], np.zeros((5, 5, 3), np.uint8))
    with pytest.raises(ValueError, match=r'2\.png'):
        _load()(dict(img_path=imgs, seg_map_path=segs))


def test_rgb_label_rejected(tmp_path):
    imgs, segs = _write(str(tmp_path))
    cv2.imwrite(segs[0], np.zeros((12, 16, 3), np.uint8))
    with pytest.raises(ValueError, match='channels'):
        _load()(dict(img_path=imgs, seg_map_path=segs))


def test_pack_contract(tmp_path):
    imgs, segs = _write(str(tmp_path))
    res = _load()(dict(img_path=imgs, seg_map_path=segs, key_index=1,
                       video_id='v', frame_id=5, frame_ids=[4, 5, 6]))
    out = TRANSFORMS.build(dict(type='PackVideoSegInputs'))(res)
    assert out['inputs'].shape == (3, 3, 12, 16)
    assert out['inputs'].dtype == torch.uint8
    # oldest first: frame 0 value 0, frame 2 value 40
    assert out['inputs'][0].max() == 0 and out['inputs'][2].min() == 40
    s = out['data_samples']
    assert (s.gt_sem_seg.data == 1).all()  # key frame's label
    assert s.gt_clip_seg.data.shape == (3, 12, 16)
    assert [int(s.gt_clip_seg.data[t, 0, 0]) for t in range(3)] == [0, 1, 2]
    assert s.img_path == imgs[1] and s.clip_img_paths == imgs
    assert s.video_id == 'v' and s.frame_ids == [4, 5, 6]
    assert s.ori_shape == (12, 16) and s.key_index == 1


def test_sample_clip_needs_video_table():
    t = TRANSFORMS.build(dict(type='SampleClip', policy=dict(
        type='FixedOffsetClipPolicy', offsets=(-1, ))))
    with pytest.raises(KeyError, match='video_img_paths'):
        t(dict(frame_id=0))
    out = t(dict(frame_id=1, video_img_paths=['a', 'b', 'c'],
                 video_seg_map_paths=['x', None, 'z']))
    assert out['img_path'] == ['a', 'b'] and out['seg_map_path'] == ['x', None]
    assert 'video_img_paths' not in out


def test_annotations_loaded_at_original_size_after_resize(tmp_path):
    imgs, segs = _write(str(tmp_path))
    segs[0] = None
    res = _load(with_label=False)(dict(img_path=imgs, seg_map_path=segs,
                                       key_index=2))
    assert 'gt_seg_map' not in res
    res = TRANSFORMS.build(dict(
        type='ClipTransformBroadcaster',
        transforms=[dict(type='Resize', scale=(32, 24), keep_ratio=True)]))(
            res)
    assert res['img'][0].shape[:2] == (24, 32)
    res = TRANSFORMS.build(dict(type='LoadVideoAnnotations'))(res)
    assert [s.shape for s in res['gt_seg_map']] == [(12, 16)] * 3
    assert (res['gt_seg_map'][0] == 255).all()
    assert (res['gt_seg_map'][2] == 2).all()
    out = TRANSFORMS.build(dict(type='PackVideoSegInputs'))(res)
    assert out['inputs'].shape == (3, 3, 24, 32)
    assert out['data_samples'].gt_sem_seg.data.shape == (1, 12, 16)
    assert out['data_samples'].ori_shape == (12, 16)
    # a label whose size disagrees with its frame's original size is named
    cv2.imwrite(segs[1], np.zeros((5, 5), np.uint8))
    res['ori_shape'] = [(12, 16)] * 3
    with pytest.raises(ValueError, match=r'label .*1_gt\.png.*frame'):
        TRANSFORMS.build(dict(type='LoadVideoAnnotations'))(res)
