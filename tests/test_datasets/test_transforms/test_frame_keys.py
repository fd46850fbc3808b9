import numpy as np
import pytest
from mmcv.transforms import BaseTransform

from mmvidseg.datasets.transforms import (CLIP_KEYS, FRAME_KEYS, frame_keys_of,
                                          frame_results)
from mmvidseg.datasets.transforms.pack_video_seg_inputs import PER_FRAME_META
from mmvidseg.registry import TRANSFORMS


def _clip(sizes=((20, 30), (24, 32), (28, 36)), key=2):
    imgs = [np.full(hw + (3, ), 10 * t, np.uint8)
            for t, hw in enumerate(sizes)]
    results = frame_results(imgs, [f'{t}.png' for t in range(len(imgs))])
    results.update(
        gt_seg_map=[np.full(hw, t, np.uint8) for t, hw in enumerate(sizes)],
        seg_fields=['gt_seg_map'], key_index=key, video_id='v',
        frame_ids=list(range(len(imgs))))
    return results


def _broadcast(transforms, share=True):
    return TRANSFORMS.build(dict(type='ClipTransformBroadcaster',
                                 share_random_params=share,
                                 transforms=transforms))


def test_frame_results():
    imgs = [np.zeros((4, 5, 3), np.uint8), np.zeros((4, 5), np.uint8)]
    out = frame_results(imgs, ['a', 'b'])
    assert out['img'] == imgs and out['img_path'] == ['a', 'b']
    assert out['img_shape'] == [(4, 5)] * 2 == out['ori_shape']
    assert out['scale_factor'] == [(1.0, 1.0)] * 2
    assert out['flip'] == [False] * 2 and out['flip_direction'] == [None] * 2
    assert 'img_path' not in frame_results(imgs)
    with pytest.raises(ValueError, match='2 frames but 1 paths'):
        frame_results(imgs, ['a'])
    with pytest.raises(ValueError, match='at least one frame'):
        frame_results([])
    # old names stay importable and point at the one definition
    assert CLIP_KEYS is FRAME_KEYS and PER_FRAME_META is FRAME_KEYS
    assert frame_keys_of({'frame_keys': ['x', 'img']}) == FRAME_KEYS + ('x', )


def test_resize_and_pad_keys_are_per_frame_and_packed():
    res = _broadcast([
        dict(type='RandomResize', scale=(64, 48), ratio_range=(1.0, 1.0),
             keep_ratio=True),
        dict(type='Pad', size_divisor=16),
    ])(_clip())
    assert res['scale'] == [(64, 48)] * 3
    assert res['keep_ratio'] == [True] * 3
    # keep_ratio resizing of frames of different sizes: each its own factor
    factors = [round(f[0], 3) for f in res['scale_factor']]
    assert factors == [2.133, 2.0, 1.722]
    # mmcv Pad: pad_shape (with channels) and img_shape after padding
    assert res['pad_shape'] == [(48, 64, 3)] * 3
    assert res['img_shape'] == [(48, 64)] * 3
    assert res['pad_size_divisor'] == [16] * 3
    assert res['pad_fixed_size'] == [None] * 3
    # padded labels follow their frame
    assert [s.shape for s in res['gt_seg_map']] == [(48, 64)] * 3
    assert (res['gt_seg_map'][2][:, 62:] == 255).all()
    assert res['seg_fields'] == ['gt_seg_map'] and res['video_id'] == 'v'
    packed = TRANSFORMS.build(dict(type='PackVideoSegInputs'))(res)
    meta = packed['data_samples'].metainfo
    assert meta['pad_shape'] == (48, 64, 3)
    assert meta['scale_factor'] == res['scale_factor'][2]
    assert meta['img_path'] == '2.png' and meta['frame_ids'] == [0, 1, 2]


def test_key_frame_value_is_packed_for_every_per_frame_key():
    res = _broadcast([dict(type='Resize', scale=(32, 32), keep_ratio=False),
                      dict(type='Pad', size=(48, 48))])(
        _clip(sizes=((20, 30), (40, 40), (20, 30)), key=1))
    assert res['scale_factor'] == [(32 / 30, 32 / 20), (0.8, 0.8),
                                   (32 / 30, 32 / 20)]
    assert res['pad_fixed_size'] == [(48, 48)] * 3
    packed = TRANSFORMS.build(dict(type='PackVideoSegInputs'))(res)
    meta = packed['data_samples'].metainfo
    assert meta['scale_factor'] == (0.8, 0.8)
    assert meta['ori_shape'] == (40, 40) and meta['pad_shape'] == (48, 48, 3)
    assert packed['inputs'].shape == (3, 3, 48, 48)
    # frames of different sizes cannot be packed: a clear error
    with pytest.raises(ValueError, match='img of one clip differ in size'):
        TRANSFORMS.build(dict(type='PackVideoSegInputs'))(_clip())


@TRANSFORMS.register_module(force=True)
class _TagKeyFrameOnly(BaseTransform):
    """Adds 'tag' to the frame whose first pixel is 20 (the key frame)."""

    def transform(self, results):
        results['seen_pad_shape'] = results.get('pad_shape')
        if int(results['img'][0, 0, 0]) == 20:
            results['tag'] = True
        return results


def test_partial_keys_dropped_and_new_keys_scattered_again():
    res = _broadcast([dict(type='Pad', size_divisor=16)])(_clip())
    res = _broadcast([dict(type='_TagKeyFrameOnly')])(res)
    # a key returned for some frames only is dropped
    assert 'tag' not in res
    # pad_shape, added by the first broadcaster, reached the second one's
    # transform frame by frame (not as a list); new keys are recorded
    assert res['seen_pad_shape'] == [(32, 32, 3), (32, 32, 3), (32, 48, 3)]
    assert 'seen_pad_shape' in res['frame_keys']
