"""SALI's augmentations: RandomRotateBicubic, ColorEnhance, PepperNoise,
SoftMaskResize.

Golden values: Scatteredrain/SALI @ c760e64, ``dataloaders/video_list.py``
(``randomRotation``, ``colorEnhance``, ``randomPeper`` and the
``transforms.Resize((352, 352))`` of its loaders, torchvision's PIL path
``img.resize(size[::-1], BILINEAR)``) run on DAVIS-2016 car-shadow frame
00000 (PIL RGB) and its mask (PIL L) with the random draws forced as below;
script ``/tmp/h3_golden/golden.py``, run with
``cd /tmp/h3_golden && /work/main/.venv/bin/python golden.py``. Ours gave
pixel-identical arrays there; the sums and pixels below are the original's.
"""
import os.path as osp
from unittest import mock

import mmcv
import numpy as np
import pytest
from PIL import Image

from mmvidseg.registry import TRANSFORMS


@pytest.fixture
def davis(shared_data):
    """Frame (BGR, PIL-decoded) and mask (0/255) of car-shadow 00000."""
    root = osp.join(shared_data, 'davis2016')
    img = mmcv.imread(
        osp.join(root, 'JPEGImages', '480p', 'car-shadow', '00000.jpg'),
        backend='pillow')
    gt = np.asarray(
        Image.open(
            osp.join(root, 'Annotations', '480p', 'car-shadow',
                     '00000.png')).convert('L')).copy()
    return img, gt


def _results(img, gt):
    return dict(img=img.copy(), gt_seg_map=gt.copy(),
                seg_fields=['gt_seg_map'])


def _forced(values, expected_calls):
    """A fake ``np.random`` function returning ``values`` in turn and
    checking the arguments of each call."""
    values, calls = iter(values), iter(expected_calls)

    def draw(*args, **kwargs):
        assert (args, kwargs) == next(calls)
        return next(values)

    return draw


def _levels(a):
    return len(np.unique(a))


# ------------------------------------------------------------------ golden
@pytest.mark.parametrize('angle, img_sum, gt_sum, levels', [
    (7, 138955682, 10655225, 253),
    (-15, 131653747, 10655527, 252),
])
def test_rotate_matches_sali(davis, angle, img_sum, gt_sum, levels):
    t = TRANSFORMS.build(dict(type='RandomRotateBicubic'))
    # SALI: random.random() > 0.8, then np.random.randint(-15, 15)
    with mock.patch.object(np.random, 'rand', lambda: 0.1), \
            mock.patch.object(np.random, 'randint',
                              _forced([angle], [((-15, 15), {})])):
        out = t(_results(*davis))
    assert int(out['img'].astype(np.int64).sum()) == img_sum
    assert int(out['gt_seg_map'].astype(np.int64).sum()) == gt_sum
    assert _levels(out['gt_seg_map']) == levels  # soft, bicubic border
    if angle == 7:
        assert out['img'][240, 427, ::-1].tolist() == [166, 173, 191]
        assert out['gt_seg_map'][250, 316:322].tolist() == [
            0, 0, 159, 255, 253, 255]


def test_color_enhance_matches_sali(davis):
    t = TRANSFORMS.build(dict(type='ColorEnhance'))
    # SALI draws random.randint(5, 15), (5, 15), (0, 20), (0, 30); forced to
    # 13, 7, 4, 25: brightness 1.3, contrast 0.7, colour 0.4, sharpness 2.5
    calls = [((5, 16), {}), ((5, 16), {}), ((0, 21), {}), ((0, 31), {})]
    img, gt = davis
    with mock.patch.object(np.random, 'randint',
                           _forced([13, 7, 4, 25], calls)):
        out = t(_results(img, gt))
    assert int(out['img'].astype(np.int64).sum()) == 180826001
    assert out['img'][240, 427, ::-1].tolist() == [252, 255, 255]
    assert out['img'][10, 10, ::-1].tolist() == [183, 182, 184]
    assert (out['gt_seg_map'] == gt).all()


def test_pepper_noise_matches_sali(davis):
    img, gt = davis
    h, w = gt.shape
    n = int(0.0015 * h * w)
    assert n == 614
    rs = np.random.RandomState(0)
    xs, ys, cs = rs.randint(0, h, n), rs.randint(0, w, n), rs.randint(0, 2, n)
    # one pixel drawn twice with different values: the later draw wins
    xs[5], ys[5], cs[3], cs[5] = xs[3], ys[3], 0, 1
    t = TRANSFORMS.build(dict(type='PepperNoise'))
    calls = [((0, h), dict(size=n)), ((0, w), dict(size=n)),
             ((0, 2), dict(size=n))]
    with mock.patch.object(np.random, 'randint',
                           _forced([xs, ys, cs], calls)):
        out = t(_results(img, gt))
    seg = out['gt_seg_map']
    assert int(seg.astype(np.int64).sum()) == 10723005
    assert int((seg != gt).sum()) == 319
    assert seg[xs[3], ys[3]] == 255
    assert (out['img'] == img).all()


def test_soft_mask_resize_matches_sali(davis):
    t = TRANSFORMS.build(dict(type='SoftMaskResize', scale=(352, 352)))
    out = t(_results(*davis))
    assert int(out['img'].astype(np.int64).sum()) == 44917092
    assert out['img'][176, 176, ::-1].tolist() == [135, 142, 160]
    seg = out['gt_seg_map']
    assert int(seg.astype(np.int64).sum()) == 3220575
    assert _levels(seg) == 237  # bilinear, not nearest
    assert seg[180, 132:137].tolist() == [0, 49, 144, 250, 255]
    assert out['img_shape'] == (352, 352)
    assert out['scale'] == (352, 352) and out['keep_ratio'] is False
    assert out['scale_factor'] == (352 / 854, 352 / 480)


# ------------------------------------------------------------- behaviour
def _clip(num=3, size=(24, 32)):
    rs = np.random.RandomState(0)
    img = rs.randint(0, 256, size + (3, )).astype(np.uint8)
    seg = np.zeros(size, np.uint8)
    seg[6:18, 8:20] = 255
    return dict(
        img=[img.copy() for _ in range(num)],
        gt_seg_map=[seg.copy() for _ in range(num)],
        seg_fields=['gt_seg_map'],
        img_shape=[size] * num,
        key_index=1)


def _broadcast(transform, share, results):
    return TRANSFORMS.build(
        dict(type='ClipTransformBroadcaster', share_random_params=share,
             transforms=[transform]))(results)


def test_rotation_shared_across_the_clip():
    np.random.seed(3)
    out = _broadcast(dict(type='RandomRotateBicubic', prob=1.0), True,
                     _clip())
    ref = _clip()
    assert not (out['img'][0] == ref['img'][0]).all()
    for t in (1, 2):  # same angle for every frame and mask
        assert (out['img'][t] == out['img'][0]).all()
        assert (out['gt_seg_map'][t] == out['gt_seg_map'][0]).all()
    assert 2 < _levels(out['gt_seg_map'][0])  # grey border


def test_rotation_draws():
    t = TRANSFORMS.build(
        dict(type='RandomRotateBicubic', prob=0.2, degree_range=(-15, 14)))
    np.random.seed(0)
    draws = [t._random_angle() for _ in range(3000)]
    angles = {a for rotate, a in draws if rotate}
    assert angles == set(range(-15, 15))
    assert 0.17 < np.mean([r for r, _ in draws]) < 0.23
    never = TRANSFORMS.build(dict(type='RandomRotateBicubic', prob=0.0))
    res = _clip(1)
    res = dict(img=res['img'][0], gt_seg_map=res['gt_seg_map'][0],
               seg_fields=['gt_seg_map'])
    out = never(dict(res))
    assert out['img'] is res['img']
    with pytest.raises(ValueError, match='degree_range'):
        TRANSFORMS.build(dict(type='RandomRotateBicubic',
                              degree_range=(5, -5)))
    with pytest.raises(TypeError, match='uint8'):
        TRANSFORMS.build(dict(type='RandomRotateBicubic', prob=1.0))(
            dict(img=np.zeros((4, 4, 3), np.float32)))


def test_color_enhance_independent_per_frame():
    np.random.seed(0)
    out = _broadcast(dict(type='ColorEnhance'), False, _clip())
    assert not (out['img'][0] == out['img'][1]).all()
    assert all((s == _clip()['gt_seg_map'][0]).all()
               for s in out['gt_seg_map'])
    t = TRANSFORMS.build(dict(type='ColorEnhance'))
    np.random.seed(0)
    factors = np.array([t._random_factors() for _ in range(2000)])
    assert [sorted(set(np.round(factors[:, k] * 10).astype(int)))
            for k in range(4)] == [list(range(5, 16)), list(range(5, 16)),
                                   list(range(0, 21)), list(range(0, 31))]
    # grey frames work too; identity factors change nothing
    ident = TRANSFORMS.build(dict(type='ColorEnhance', brightness=(1, 1),
                                  contrast=(1, 1), color=(1, 1),
                                  sharpness=(1, 1)))
    grey = np.arange(64, dtype=np.uint8).reshape(8, 8)
    assert (ident(dict(img=grey.copy()))['img'] == grey).all()
    with pytest.raises(ValueError, match='contrast'):
        TRANSFORMS.build(dict(type='ColorEnhance', contrast=(1.5, 0.5)))


def test_pepper_noise_independent_per_gt():
    np.random.seed(0)
    ref = _clip()
    out = _broadcast(dict(type='PepperNoise', ratio=0.05), False, _clip())
    n = int(0.05 * 24 * 32)
    changed = [s != r for s, r in zip(out['gt_seg_map'], ref['gt_seg_map'])]
    assert all(0 < c.sum() <= n for c in changed)
    assert not (changed[0] == changed[1]).all()
    assert set(np.unique(np.stack(out['gt_seg_map']))) == {0, 255}
    assert all((a == b).all() for a, b in zip(out['img'], ref['img']))
    # nothing to do without labels
    img = ref['img'][0]
    assert TRANSFORMS.build(dict(type='PepperNoise'))(dict(img=img))[
        'img'] is img


def test_soft_mask_resize_is_pil_bilinear():
    res = _clip(1)
    res = dict(img=res['img'][0], gt_seg_map=res['gt_seg_map'][0],
               seg_fields=['gt_seg_map'])
    expected = np.asarray(Image.fromarray(res['gt_seg_map']).resize(
        (20, 10), Image.BILINEAR))
    out = TRANSFORMS.build(dict(type='SoftMaskResize', scale=(20, 10)))(
        dict(res))
    assert out['img'].shape == (10, 20, 3) and out['img_shape'] == (10, 20)
    assert (out['gt_seg_map'] == expected).all()
    assert _levels(out['gt_seg_map']) > 2
    assert out['scale_factor'] == (20 / 32, 10 / 24)
    with pytest.raises(ValueError, match='scale'):
        TRANSFORMS.build(dict(type='SoftMaskResize', scale=(0, 10)))
