"""Single-class noise operations of the MS-TFAL noisy-label generator.

Golden values: MS-TFAL commit 538475e, ``generate_noise/noisy_type.py``
(``dilate_mask``, ``erode_mask``, ``multi_object_polygon_label_generation``
with ``shifting_ratio=0``) run on CPU outside the repository on the masks
built by :func:`golden_mask` / :func:`golden_polygon_mask` (script
``/tmp/m3_golden/golden.py``; the torchvision import was stubbed).
"""
import cv2
import numpy as np
import pytest

from mmvidseg.datasets.noise import (affine_components, affine_warp,
                                     dilate_mask, disk_kernel, erode_mask,
                                     fill_holes, polygon_component,
                                     polygon_components, sample_affine_params)


def golden_mask():
    m = np.zeros((120, 160), np.uint8)
    m[30:70, 40:100] = 5
    cv2.circle(m, (130, 95), 12, 5, -1)
    m[0:10, 0:20] = 5  # touches the top-left border
    return m == 5


def golden_polygon_mask():
    p = np.zeros((120, 160), np.uint8)
    cv2.ellipse(p, (80, 60), (40, 25), 20, 0, 360, 3, -1)
    p[55:65, 75:85] = 0  # a hole
    cv2.rectangle(p, (10, 90), (30, 110), 3, -1)
    return p == 3


@pytest.mark.parametrize('radius,total', [(3, 29), (40, 5025), (45, 6361),
                                          (50, 7845)])
def test_disk_kernel_matches_the_original(radius, total):
    kernel = disk_kernel(radius)
    assert kernel.shape == (2 * radius + 1, ) * 2
    assert int(kernel.sum()) == total
    assert kernel[radius].all() and kernel[:, radius].all()
    assert kernel[0, 0] == 0


@pytest.mark.parametrize('radius,dilated,eroded', [(3, 3987, 2208),
                                                   (7, 5437, 1316),
                                                   (40, 16881, 0)])
def test_dilate_erode_pixel_counts_match_the_original(radius, dilated, eroded):
    mask = golden_mask()
    assert int(mask.sum()) == 3041
    assert int(dilate_mask(mask, radius).sum()) == dilated
    assert int(erode_mask(mask, radius).sum()) == eroded


def test_dilate_erode_equal_opencv_with_the_disk_kernel():
    rng = np.random.default_rng(0)
    for trial in range(12):
        h, w = rng.integers(20, 90, 2)
        noise = cv2.GaussianBlur(rng.random((h, w)), (0, 0), 3)
        mask = noise > np.median(noise)
        radius = int(rng.integers(0, 30))
        kernel = disk_kernel(radius)
        as_u8 = mask.astype(np.uint8)
        np.testing.assert_array_equal(dilate_mask(mask, radius),
                                      cv2.dilate(as_u8, kernel) > 0)
        np.testing.assert_array_equal(erode_mask(mask, radius),
                                      cv2.erode(as_u8, kernel) > 0)
    empty = np.zeros((8, 8), bool)
    assert not dilate_mask(empty, 3).any()
    assert erode_mask(~empty, 3).all()


@pytest.mark.parametrize('num_rays,area', [(4, 1605), (5, 2478), (8, 3234)])
def test_polygon_without_jitter_matches_the_original(num_rays, area):
    out = polygon_components(golden_polygon_mask(),
                             num_rays,
                             np.random.default_rng(0),
                             shift_ratio=0)
    assert int(out.sum()) == area


def test_polygon_jitter_changes_the_outline_inside_the_image():
    mask = golden_polygon_mask()
    plain = polygon_components(mask, 6, np.random.default_rng(0), 0)
    outs = [
        polygon_components(mask, 6, np.random.default_rng(s)) for s in range(4)
    ]
    assert any((out != plain).any() for out in outs)
    assert all(out.shape == mask.shape for out in outs)
    # a 4-gon of a disc is smaller than the disc and inside its bbox
    disc = np.zeros((64, 64), np.uint8)
    cv2.circle(disc, (32, 32), 20, 1, -1)
    quad = polygon_component(disc > 0, 4, np.random.default_rng(0), 0)
    assert 0 < quad.sum() < disc.sum()
    assert not quad[:11].any() and not quad[54:].any()


def test_fill_holes_corner_and_border_modes():
    ring = np.zeros((20, 20), bool)
    ring[5:15, 5:15] = True
    ring[8:12, 8:12] = False
    for mode in ('corner', 'border'):
        assert fill_holes(ring, mode)[5:15, 5:15].all()
        assert fill_holes(ring, mode).sum() == 100
    corner = np.zeros((20, 20), bool)
    corner[:4, :4] = True
    # the original floods from pixel (0, 0): a mask there fills everything
    assert fill_holes(corner, 'corner').all()
    np.testing.assert_array_equal(fill_holes(corner, 'border'), corner)
    with pytest.raises(ValueError, match='hole-fill mode'):
        fill_holes(ring, 'all')


def test_affine_params_shift_vertically_only_by_default():
    rng = np.random.default_rng(1)
    params = [sample_affine_params(rng, (100, 200)) for _ in range(200)]
    angles = np.array([p[0] for p in params])
    shifts = np.array([p[1] for p in params])
    scales = np.array([p[2] for p in params])
    assert (np.abs(angles) <= 30).all() and np.abs(angles).max() > 20
    assert (shifts[:, 0] == 0).all()  # torchvision: translate=(0, 0.2)
    assert (np.abs(shifts[:, 1]) <= 20).all() and shifts[:, 1].std() > 5
    np.testing.assert_array_equal(shifts, np.rint(shifts))
    assert ((scales >= 0.8) & (scales <= 1.2)).all()


def test_affine_warp_geometry():
    mask = np.zeros((30, 40), bool)
    mask[5:12, 8:20] = True
    np.testing.assert_array_equal(affine_warp(mask, 0., (0., 0.), 1.), mask)
    moved = affine_warp(mask, 0., (3., 7.), 1.)
    np.testing.assert_array_equal(moved, np.roll(mask, (7, 3), (0, 1)))
    np.testing.assert_array_equal(affine_warp(mask, 180., (0., 0.), 1.),
                                  mask[::-1, ::-1])
    # scale about the image centre ((W-1)/2, (H-1)/2), nearest with
    # round-half-to-even source coordinates: 5 pixels -> 9
    square = np.zeros((31, 31), bool)
    square[13:18, 13:18] = True
    scaled = np.zeros_like(square)
    scaled[11:20, 11:20] = True
    np.testing.assert_array_equal(affine_warp(square, 0., (0., 0.), 2.),
                                  scaled)
    np.testing.assert_array_equal(affine_warp(square, 90., (0., 0.), 1.),
                                  square)
    # positive angles turn clockwise on screen (torchvision's F.affine):
    # the upper-left block goes to the upper right
    turned = np.zeros_like(mask)
    turned[3:15, 23:30] = True
    np.testing.assert_array_equal(affine_warp(mask, 90., (0., 0.), 1.), turned)


def test_affine_components_draw_per_component():
    mask = np.zeros((60, 80), bool)
    mask[5:15, 5:20] = True
    mask[35:50, 50:70] = True
    out = affine_components(mask, np.random.default_rng(3))
    rng = np.random.default_rng(3)
    expected = np.zeros_like(mask)
    for box in (np.s_[5:15, 5:20], np.s_[35:50, 50:70]):
        part = np.zeros_like(mask)
        part[box] = True
        angle, shift, scale = sample_affine_params(rng, mask.shape)
        expected |= affine_warp(part, angle, shift, scale)
    np.testing.assert_array_equal(out, expected)
    assert (out != mask).any()
