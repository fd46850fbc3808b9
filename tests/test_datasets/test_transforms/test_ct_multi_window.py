"""CT windows as channels (the FLARE22 method's windowing_ct) and the
albumentations-1.1 style Gaussian blur."""
import os.path as osp

import cv2
import numpy as np
import pytest

from mmvidseg.datasets.transforms import (FLARE22_CT_WINDOWS, CTMultiWindow,
                                          RandomGaussianBlur, ct_multi_window,
                                          window_bounds)
from mmvidseg.datasets.transforms.ct_multi_window import \
    FLARE22_WINDOW_WIDTH_LEVELS
from mmvidseg.registry import TRANSFORMS

# Golden: kaylode/ivos @ 276ee41, tools/preprocess/windowing_ct/preproc.py
# `preprocess` on a float32 .npy slice (the pipeline's per-slice HU files),
# once per run.py query with the (W, L) lists of config.py `get_cfg`, in the
# order abdomen, chest, spine; cv2.imwrite stubbed to capture the uint8
# image before its JPEG encoding. Command (outside the repo):
#   python golden_window.py   (rng = np.random.default_rng(0);
#   hu = rng.integers(-2000, 2000, size=(4, 5)).astype(np.float32), rows 0
#   and 1 overwritten with the values below)
GOLDEN_HU = np.array(
    [[-150.0, 250.0, -1350.0, 225.0, 1300.0],
     [-149.5, 249.9, -0.3, 0.7, 37.1],
     [597.0, 1651.0, 14.0, 426.0, 1882.0],
     [917.0, 529.0, 174.0, 239.0, 1740.0]], np.float32)
GOLDEN_UINT8 = np.array(
    [[[0, 194, 49], [255, 255, 106], [0, 0, 0], [239, 255, 102],
      [255, 255, 255]],
     [[0, 194, 49], [254, 255, 106], [95, 218, 70], [96, 218, 70],
      [119, 224, 76]],
     [[255, 255, 155], [255, 255, 255], [104, 220, 72], [255, 255, 131],
      [255, 255, 255]],
     [[255, 255, 200], [255, 255, 145], [206, 246, 95], [247, 255, 104],
      [255, 255, 255]]], np.uint8)


def test_window_bounds_from_the_original_config():
    # config.py: abdomen soft tissues W400/L50 + liver W150/L30, chest lungs
    # W1500/L-600 + mediastinum W350/L50, spine bone W1800/L400
    assert FLARE22_WINDOW_WIDTH_LEVELS == (((400, 50), (150, 30)),
                                           ((1500, -600), (350, 50)),
                                           ((1800, 400), ))
    assert FLARE22_CT_WINDOWS == ((-150, 250), (-1350, 225), (-500, 1300))
    assert window_bounds([(5, 10)]) == (8, 12)  # W // 2 = 2
    with pytest.raises(ValueError):
        window_bounds([])


def test_golden_against_the_original():
    out = ct_multi_window(GOLDEN_HU)
    assert out.dtype == np.float32 and out.shape == (4, 5, 3)
    np.testing.assert_array_equal(out, GOLDEN_UINT8.astype(np.float32))
    # the truncation, by hand: 255 * (249.9 + 150) / 400 = 254.94 -> 254
    assert out[1, 1, 0] == 254
    # integer HU input (the volumes' int16) gives the same values
    np.testing.assert_array_equal(
        ct_multi_window(GOLDEN_HU[2:].astype(np.int16)), out[2:])


def test_custom_windows_and_bad_input():
    hu = np.array([-10., 0., 5., 10., 20.], np.float32)
    out = ct_multi_window(hu, windows=[(0, 10)])
    assert out.shape == (5, 1)
    np.testing.assert_array_equal(out[:, 0], [0, 0, 127, 255, 255])
    with pytest.raises(ValueError, match='lo < hi'):
        ct_multi_window(hu, windows=[(10, 0)])
    with pytest.raises(ValueError, match='real HU'):
        ct_multi_window(np.array(['a']))


def test_transform_on_clips_and_single_images():
    t = TRANSFORMS.build(dict(type='CTMultiWindow'))
    assert isinstance(t, CTMultiWindow)
    hu = GOLDEN_HU[..., None]  # (H, W, 1) as LoadVolumeSlices(window=None)
    res = t(dict(img=[hu, hu[::-1].copy()]))
    assert isinstance(res['img'], list) and len(res['img']) == 2
    np.testing.assert_array_equal(res['img'][0], GOLDEN_UINT8)
    np.testing.assert_array_equal(res['img'][1], GOLDEN_UINT8[::-1])
    single = t(dict(img=GOLDEN_HU))  # (H, W) works too
    np.testing.assert_array_equal(single['img'], GOLDEN_UINT8)
    with pytest.raises(ValueError, match='one raw HU channel'):
        t(dict(img=np.zeros((4, 5, 3), np.float32)))


def test_after_load_volume_slices_on_the_real_ct(shared_data, tmp_path):
    nib = pytest.importorskip('nibabel')
    path = osp.join(shared_data, 'totalseg_ct', 'example_ct_sm.nii.gz')
    load = TRANSFORMS.build(
        dict(type='LoadVolumeSlices', window=None, cache_dir=str(tmp_path)))
    res = load(dict(img_path=[path, path], frame_ids=[3, 17]))
    res = CTMultiWindow()(res)
    vol = np.asanyarray(nib.as_closest_canonical(nib.load(path)).dataobj)
    for img, k in zip(res['img'], (3, 17)):
        assert img.shape == (122, 101, 3) and img.dtype == np.float32
        np.testing.assert_array_equal(img, ct_multi_window(vol[:, :, k]))
    # the CT covers air, soft tissue and bone: every channel is used
    img = res['img'][1]
    assert all(0 < img[..., c].mean() < 255 for c in range(3))
    assert img.min() == 0 and img.max() == 255


def test_blur_kernel_sizes_as_albumentations_1_1():
    # albumentations 1.1.0 GaussianBlur.get_params: k = randint(3, 8);
    # even k -> (k + 1) % 8, i.e. 3: 1/5, 5: 2/5, 7: 2/5
    blur = RandomGaussianBlur(prob=1.)
    np.random.seed(0)
    sizes = [blur._draw()[0] for _ in range(5000)]
    freq = {k: sizes.count(k) / len(sizes) for k in set(sizes)}
    assert set(freq) == {3, 5, 7}
    assert freq[3] == pytest.approx(0.2, abs=0.02)
    assert freq[5] == pytest.approx(0.4, abs=0.02)
    assert freq[7] == pytest.approx(0.4, abs=0.02)
    with pytest.raises(ValueError, match='odd'):
        RandomGaussianBlur(blur_limit=(3, 6))


def test_blur_applies_cv2_gaussian_with_probability():
    rng = np.random.default_rng(0)
    img = rng.uniform(0, 255, (9, 11, 3)).astype(np.float32)
    np.random.seed(1)
    out = RandomGaussianBlur(prob=1.)(dict(img=img.copy()))['img']
    assert out.shape == img.shape and out.dtype == np.float32
    matches = [
        k for k in (3, 5, 7)
        if np.allclose(out, cv2.GaussianBlur(img, (k, k), 0), atol=1e-5)
    ]
    assert len(matches) == 1  # one of the three kernels, sigma from k
    kept = RandomGaussianBlur(prob=0.)(dict(img=img.copy()))['img']
    np.testing.assert_array_equal(kept, img)
    np.random.seed(2)
    applied = sum(not np.array_equal(
        RandomGaussianBlur()(dict(img=img.copy()))['img'], img)
                  for _ in range(400))
    assert 160 < applied < 240  # p = 0.5
    one = RandomGaussianBlur(prob=1.)(dict(img=img[..., :1].copy()))['img']
    assert one.shape == (9, 11, 1)
