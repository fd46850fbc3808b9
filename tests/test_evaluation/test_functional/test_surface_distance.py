"""Surface distances / NSD against DeepMind's surface-distance and by hand.

Golden values: DeepMind ``surface-distance`` 0.1 (the PyPI wheel, same code
as deepmind/surface-distance master d07cc4e and as the ``SurfaceDice.py``
of JunMa11/FLARE aad2cc2), run once outside the repository with
``python golden_sd.py`` (``lookup_tables.
create_table_neighbour_code_to_surface_area``, ``metrics.
compute_surface_distances`` / ``compute_surface_dice_at_tolerance`` /
``compute_dice_coefficient`` on the masks of :func:`_pair`).
"""
import math

import numpy as np
import pytest

from mmvidseg.evaluation.functional import (compute_surface_distances, dice,
                                            neighbour_code_areas, surface_dice,
                                            surface_dice_at_tolerance)
from tests.test_evaluation._flare_cases import box, ellipsoid

#: DeepMind's area of some codes and of all 256, spacing (0.7, 1.3, 2.9)
TABLE_GOLDEN = {
    1: 0.5471788441634051, 3: 2.140899343733843, 7: 3.526536532490215,
    22: 1.6415365324902154, 61: 2.688078187897248, 91: 2.486315249886324,
    107: 1.6415365324902154, 129: 1.0943576883268102,
    254: 0.5471788441634051}
TABLE_SUM = 591.6622968920756

PAIR_SPACING = (0.8, 1.1, 2.5)
#: DeepMind on :func:`_pair`: surfel counts, sums of the four arrays
PAIR_COUNTS = (432, 600)
PAIR_SUMS = dict(distances_gt_to_pred=217.3085948271867,
                 distances_pred_to_gt=706.7676410048009,
                 surfel_areas_gt=553.8315344898263,
                 surfel_areas_pred=704.9262398213473)
PAIR_MAX = (2.6248809496813377, 9.306449376641986)
PAIR_NSD = {0.0: 0.6380580656916598, 1.0: 0.7718476952606662,
            2.5: 0.9427932188783043, 3.0: 0.9476763558351321}
PAIR_DICE = 0.7374562427071178


def _pair():
    """An ellipsoid, and it shifted one slice with holes and a far blob."""
    shape = (20, 18, 12)
    x, y, z = np.indices(shape)
    gt = ellipsoid((9, 8, 5), (6, 5, 3.5), shape)
    pred = np.roll(gt, 1, axis=2) & ~((x * 7 + y * 13 + z * 29) % 11 == 0)
    pred |= box((15, 1, 9), (17, 3, 10), shape)
    return gt, pred


def test_area_table_is_deepmind_s():
    table = neighbour_code_areas((0.7, 1.3, 2.9))
    for code, area in TABLE_GOLDEN.items():
        assert table[code] == pytest.approx(area, rel=1e-14)
    assert table.sum() == pytest.approx(TABLE_SUM, rel=1e-14)
    assert table[0] == table[255] == 0
    # complementary codes bound the same surface
    np.testing.assert_allclose(table, table[::-1], rtol=1e-14)
    # unit spacing: one corner cut off = triangle of area sqrt(3) / 8
    assert neighbour_code_areas((1, 1, 1))[128] == pytest.approx(
        math.sqrt(3) / 8)


def test_distances_and_nsd_match_deepmind():
    gt, pred = _pair()
    out = compute_surface_distances(gt, pred, PAIR_SPACING)
    assert (len(out['distances_gt_to_pred']),
            len(out['distances_pred_to_gt'])) == PAIR_COUNTS
    for key, value in PAIR_SUMS.items():
        assert out[key].sum() == pytest.approx(value, rel=1e-13)
    assert (out['distances_gt_to_pred'][-1],
            out['distances_pred_to_gt'][-1]) == pytest.approx(PAIR_MAX)
    assert np.all(np.diff(out['distances_gt_to_pred']) >= 0)  # sorted
    for tol, nsd in PAIR_NSD.items():
        assert surface_dice_at_tolerance(out, tol) == pytest.approx(
            nsd, rel=1e-13)
        assert surface_dice(gt, pred, PAIR_SPACING, tol) == pytest.approx(
            nsd, rel=1e-13)
    assert dice(gt, pred) == pytest.approx(PAIR_DICE, rel=1e-15)


def test_identical_masks_give_one():
    gt = ellipsoid((6, 5, 4), (4, 3, 2.5), (12, 11, 9))
    out = compute_surface_distances(gt, gt.copy(), (0.5, 0.7, 3.0))
    assert np.all(out['distances_gt_to_pred'] == 0)
    assert surface_dice(gt, gt.copy(), (0.5, 0.7, 3.0), 0.0) == 1.0
    assert dice(gt, gt) == 1.0


def test_cube_shifted_one_voxel_by_hand():
    """A 3x4x5-voxel box, the prediction shifted one voxel along axis 0,
    spacing (s0, s1, s2) = (1, 2, 3) mm.

    DSC = 2 * (2 * 4 * 5) / (2 * 60) = 2 / 3. Surfels (corner codes) of a
    box: face corners (4 voxels on one side), area of the face's unit
    square ``s_u s_v``; edge corners along axis t (2 voxels), a rectangle
    ``s_t`` by ``sqrt(s_u^2 + s_v^2) / 2``; vertices (1 voxel), a triangle
    ``sqrt((s1 s2)^2 + (s0 s2)^2 + (s0 s1)^2) / 8``. Total area of the
    box, T = 2*3*4*6 + 2*2*4*3 + 2*2*3*2 (faces) + 4*2*sqrt(13)/2 +
    4*3*sqrt(10) + 4*4*1.5*sqrt(5) (edges) + 8*7/8 (vertices) = 223 +
    4 sqrt(13) + 12 sqrt(10) + 24 sqrt(5). A gt surfel lies on the
    prediction's surface (distance 0) unless it is on the face x = 0 (whole
    face with its edges and vertices, 1 mm from the prediction's face
    x = 1) or inside the face x = 3 (1 mm from the prediction's face x = 4;
    its other faces are >= 2 mm away); by symmetry the same for the
    prediction. Far area F = 3*4*6 + 2*3*sqrt(10) + 2*4*1.5*sqrt(5) + 4*7/8
    (face x = 0) + 3*4*6 (inside of face x = 3) = 147.5 + 6 sqrt(10) + 12
    sqrt(5). NSD below 1 mm = (2T - 2F) / 2T = 1 - F / T; at 1 mm: 1.
    """
    gt = np.zeros((9, 9, 10), bool)
    gt[2:5, 2:6, 2:7] = True
    pred = np.roll(gt, 1, axis=0)
    spacing = (1.0, 2.0, 3.0)
    total = 223 + 4 * math.sqrt(13) + 12 * math.sqrt(10) + 24 * math.sqrt(5)
    far = 147.5 + 6 * math.sqrt(10) + 12 * math.sqrt(5)
    assert dice(gt, pred) == pytest.approx(2 / 3)
    out = compute_surface_distances(gt, pred, spacing)
    assert out['surfel_areas_gt'].sum() == pytest.approx(total)
    assert out['surfel_areas_pred'].sum() == pytest.approx(total)
    for tol in (0.0, 0.5, 0.999):
        assert surface_dice(gt, pred, spacing, tol) == pytest.approx(
            1 - far / total, rel=1e-12)
    assert surface_dice(gt, pred, spacing, 1.0) == pytest.approx(1.0)
    # along axis 2 (3 mm) with a 2.9 mm tolerance the shifted faces are
    # out of tolerance and the lateral ones are not
    pred2 = np.roll(gt, 1, axis=2)
    assert surface_dice(gt, pred2, spacing, 2.9) < 1
    assert surface_dice(gt, pred2, spacing, 3.0) == pytest.approx(1.0)


def test_empty_masks():
    empty = np.zeros((5, 6, 7), bool)
    blob = empty.copy()
    blob[1:3, 2:4, 3:5] = True
    assert math.isnan(dice(empty, empty))
    assert math.isnan(surface_dice(empty, empty, (1, 1, 1), 1))
    out = compute_surface_distances(empty, empty, (1, 1, 1))
    assert all(v.size == 0 for v in out.values())
    assert dice(blob, empty) == 0 and dice(empty, blob) == 0
    assert surface_dice(blob, empty, (1, 1, 1), 1) == 0
    assert surface_dice(empty, blob, (1, 1, 1), 1) == 0
    out = compute_surface_distances(blob, empty, (1, 1, 1))
    assert np.all(np.isinf(out['distances_gt_to_pred']))
    assert out['distances_pred_to_gt'].size == 0
    assert surface_dice_at_tolerance(out, 5) == 0


def test_object_on_the_volume_border_is_closed():
    """Voxels outside the volume are background (DeepMind's padding)."""
    full = np.ones((3, 4, 5), bool)
    out = compute_surface_distances(full, full, (1, 1, 1))
    # 2 * (3*4 + 3*5 + 4*5) face squares minus what edges / vertices cut
    assert out['surfel_areas_gt'].sum() == pytest.approx(
        2 * (2 * 3 + 2 * 4 + 3 * 4) + 4 * (2 + 3 + 4) * math.sqrt(2) / 2 +
        8 * math.sqrt(3) / 8)


def test_bad_input():
    m = np.zeros((3, 3, 3), bool)
    with pytest.raises(ValueError, match='bool'):
        surface_dice(m.astype(np.uint8), m, (1, 1, 1), 1)
    with pytest.raises(ValueError, match='differ in shape'):
        compute_surface_distances(m, m[:2], (1, 1, 1))
    with pytest.raises(ValueError, match='3D'):
        dice_input = np.zeros((3, 3), bool)
        surface_dice(dice_input, dice_input, (1, 1), 1)
    with pytest.raises(ValueError, match='spacing'):
        surface_dice(m, m, (1, 0, 1), 1)
    with pytest.raises(ValueError, match='tolerance'):
        surface_dice(m, m, (1, 1, 1), -1)
