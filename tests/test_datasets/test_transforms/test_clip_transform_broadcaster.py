import numpy as np
import pytest
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness

from mmvidseg.registry import TRANSFORMS


def _clip(num=3, h=24, w=32, key=None):
    base = np.random.RandomState(0).randint(0, 200, (h, w, 3)).astype(
        np.uint8)
    imgs = [base + 10 * t for t in range(num)]  # frame t = base + 10 t
    segs = [np.random.RandomState(t).randint(0, 3, (h, w)).astype(np.uint8)
            for t in range(num)]
    return dict(
        img=imgs, gt_seg_map=segs, seg_fields=['gt_seg_map'],
        img_shape=[(h, w)] * num, ori_shape=[(h, w)] * num,
        scale_factor=[(1.0, 1.0)] * num, flip=[False] * num,
        flip_direction=[None] * num,
        key_index=num - 1 if key is None else key)


def _build(transforms, share):
    return TRANSFORMS.build(
        dict(type='ClipTransformBroadcaster', share_random_params=share,
             transforms=transforms))


GEOMETRIC = [
    dict(type='RandomResize', scale=(32, 24), ratio_range=(0.5, 2.0),
         keep_ratio=True),
    dict(type='RandomCrop', crop_size=(16, 16)),
    dict(type='RandomFlip', prob=0.5),
]


@pytest.mark.parametrize('seed', range(5))
def test_shared_geometric_params(seed):
    np.random.seed(seed)
    out = _build(GEOMETRIC, share=True)(_clip())
    imgs = [x.astype(np.int32) for x in out['img']]
    assert all(x.shape == (16, 16, 3) for x in imgs)
    # same resize/crop/flip for all frames: the +10 t offset survives
    # everywhere except where resizing interpolated across the clip value
    for t in range(1, 3):
        diff = imgs[t] - imgs[0]
        assert np.mean(np.abs(diff - 10 * t) <= 1) > 0.95
    assert len(set(out['flip'])) == 1
    assert len({tuple(s) for s in out['img_shape']}) == 1
    # labels follow the same geometry (nearest): shapes equal
    assert all(s.shape == (16, 16) for s in out['gt_seg_map'])


def test_unshared_geometric_params_differ():
    np.random.seed(1)
    same = 0
    for _ in range(5):
        out = _build(GEOMETRIC, share=False)(_clip())
        d = out['img'][1].astype(np.int32) - out['img'][0]
        same += np.mean(np.abs(d - 10) <= 1) > 0.95
    assert same < 5  # independent crops almost never all coincide


def test_photometric_per_frame_or_shared():
    clip = _clip()
    clip['img'] = [clip['img'][0].copy() for _ in range(3)]  # equal frames
    np.random.seed(0)
    out = _build([dict(type='PhotoMetricDistortion')], share=False)(
        {**clip, 'img': [x.copy() for x in clip['img']]})
    assert not np.array_equal(out['img'][0], out['img'][1])


@TRANSFORMS.register_module(force=True)
class _RecordFirstSeen(BaseTransform):
    """Test transform whose cached 'random' parameter is the first frame's
    top-left pixel value: tells which frame decided the shared params."""

    @cache_randomness
    def param(self, results):
        return int(results['img'][0, 0, 0])

    def transform(self, results):
        results['img'] = np.full_like(results['img'], self.param(results))
        return results


@pytest.mark.parametrize('key', [0, 1, 2])
def test_key_frame_decides_shared_params(key):
    out = _build([dict(type='_RecordFirstSeen')], share=True)(_clip(key=key))
    key_value = int(_clip()['img'][key][0, 0, 0])
    assert all(int(x[0, 0, 0]) == key_value for x in out['img'])
    # frame order is unchanged in the output
    out = _build([dict(type='RandomFlip', prob=0.0)], share=True)(
        _clip(key=key))
    for t, x in enumerate(out['img']):
        np.testing.assert_array_equal(x, _clip()['img'][t])


def test_cat_max_ratio_crop_uses_key_label():
    h = w = 32
    clip = _clip(num=2, h=h, w=w, key=1)
    # reference label: one class only; key label: two halves
    clip['gt_seg_map'][0] = np.zeros((h, w), np.uint8)
    key_seg = np.zeros((h, w), np.uint8)
    key_seg[:, w // 2:] = 1
    clip['gt_seg_map'][1] = key_seg
    np.random.seed(3)
    out = _build([dict(type='RandomCrop', crop_size=(16, 16),
                       cat_max_ratio=0.75)], share=True)(clip)
    # decided on the key label, so the key crop holds both classes
    _, counts = np.unique(out['gt_seg_map'][1], return_counts=True)
    assert len(counts) == 2 and counts.max() / counts.sum() < 0.75


def test_requires_clip_lists():
    with pytest.raises(ValueError, match='LoadVideoFrames'):
        _build(GEOMETRIC, share=True)(dict(img=np.zeros((4, 4, 3))))
