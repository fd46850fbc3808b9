"""DAVIS J&F functions: hand-made values and the official scorer's numbers."""
import os
import os.path as osp

import numpy as np
import pytest
from PIL import Image

from mmvidseg.evaluation.functional import (boundary_f_measure, boundary_map,
                                            davis_statistics,
                                            evaluate_davis_folder,
                                            evaluate_sequence,
                                            region_similarity, tolerance_disk)
from tests.test_evaluation.davis_osvos_reference import (OFFICIAL_F,
                                                         OFFICIAL_GLOBAL,
                                                         OFFICIAL_J, SEQUENCE,
                                                         load_car_shadow)


def box(shape, rows, cols):
    mask = np.zeros(shape, bool)
    mask[rows[0]:rows[1], cols[0]:cols[1]] = True
    return mask


def test_region_similarity_rectangles_empty_and_void():
    gt = box((10, 10), (0, 4), (0, 4))  # 16 px
    pred = box((10, 10), (2, 6), (2, 6))  # 16 px, 4 shared
    assert region_similarity(gt, pred) == pytest.approx(4 / 28)
    empty = np.zeros((10, 10), bool)
    out = region_similarity(np.stack([gt, empty, empty]),
                            np.stack([gt, empty, pred]))
    np.testing.assert_array_equal(out, [1., 1., 0.])  # both empty -> 1
    # 8 predicted pixels over a void area: left out only when void is given
    pred = box((10, 10), (0, 4), (0, 6))
    void = box((10, 10), (0, 4), (4, 6))
    assert region_similarity(gt, pred) == pytest.approx(16 / 24)
    assert region_similarity(gt, pred, void) == 1.0


def test_boundary_map_is_the_half_pixel_shifted_perimeter():
    seg = box((20, 20), (5, 15), (5, 15))
    # perimeter of the 11x11 box rows/cols 4..14 (shifted toward origin)
    inner = box((20, 20), (5, 14), (5, 14))
    expected = box((20, 20), (4, 15), (4, 15)) & ~inner
    np.testing.assert_array_equal(boundary_map(seg), expected)
    assert expected.sum() == 40
    # a mask touching the image border has no boundary along it
    assert not boundary_map(np.ones((4, 5), bool)).any()


def test_tolerance_disk():
    # 0.008 * diagonal: 20x20 -> ceil(0.226) = 1; 480x854 -> ceil(7.84) = 8
    np.testing.assert_array_equal(tolerance_disk((20, 20)),
                                  [[0, 1, 0], [1, 1, 1], [0, 1, 0]])
    disk = tolerance_disk((480, 854))
    assert disk.shape == (17, 17) and disk[8].all() and not disk[0, 7]
    assert tolerance_disk((9, 9), bound_th=2).shape == (5, 5)


def test_boundary_f_measure_hand_values():
    gt = box((20, 20), (5, 15), (5, 15))
    assert boundary_f_measure(gt, gt) == 1.0
    # shifted 2 px right, tolerance 1 px: of the 40 boundary pixels of
    # either mask, 10 + 10 on the horizontal sides and 2 on one vertical
    # side lie within 1 px of the other boundary -> P = R = F = 22/40
    shifted = box((20, 20), (5, 15), (7, 17))
    assert boundary_f_measure(gt, shifted) == pytest.approx(0.55)
    empty = np.zeros_like(gt)
    out = boundary_f_measure(np.stack([empty, gt, empty]),
                             np.stack([empty, empty, gt]))
    np.testing.assert_array_equal(out, [1., 0., 0.])
    # void pixels are cleared before boundaries are drawn
    void = box((20, 20), (0, 20), (15, 20))
    wide = box((20, 20), (5, 15), (5, 20))
    assert boundary_f_measure(gt, wide) < 1
    assert boundary_f_measure(gt, wide, void) == 1.0


def test_davis_statistics_hand_values():
    values = np.array([1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3])
    mean, recall, decay = davis_statistics(values)
    assert mean == pytest.approx(0.65)
    assert recall == pytest.approx(5 / 8)  # 0.5 is not above 0.5
    # cuts round(linspace(1, 8, 5)) - 1 = [0, 2, 4, 5, 7]: bins share ends,
    # first = v[0:3], last = v[5:8] -> 0.9 - 0.4
    assert decay == pytest.approx(0.5)
    assert davis_statistics([0.7]) == (0.7, 1.0, 0.0)
    assert all(np.isnan(davis_statistics([])))


def test_evaluate_sequence_official_conventions():
    shape = (10, 10)
    obj1 = box(shape, (0, 2), (0, 2)).astype(np.uint8)
    obj3 = 3 * box(shape, (5, 7), (5, 7)).astype(np.uint8)
    late = 4 * box(shape, (8, 10), (8, 10)).astype(np.uint8)
    void = 255 * box(shape, (0, 2), (2, 4)).astype(np.uint8)
    gt = np.stack([obj1 + obj3] + [obj1 + obj3 + late + void] * 2 +
                  [obj1 + obj3])
    garbage = np.full(shape, 7, np.uint8)  # first/last frame: never read
    pred = np.stack([
        garbage,
        box(shape, (0, 2), (0, 4)) + obj3,  # object 1 spills onto void
        obj1,  # object 3 lost
        garbage
    ])
    res = evaluate_sequence(gt, pred)
    # ids 1..3 of frame 0 (2 missing: empty GT), late id 4 ignored
    assert sorted(res) == [1, 2, 3]
    np.testing.assert_allclose(res[1]['J'], [0.5, 1.0])  # void = background
    np.testing.assert_array_equal(res[2]['J'], [1.0, 1.0])
    np.testing.assert_array_equal(res[2]['F'], [1.0, 1.0])
    np.testing.assert_array_equal(res[3]['J'], [1.0, 0.0])
    np.testing.assert_array_equal(res[3]['F'], [1.0, 0.0])
    assert res[1]['J-Mean'] == pytest.approx(0.75)
    assert res[1]['J-Recall'] == 0.5
    assert res[1]['J-Decay'] == pytest.approx(-0.5)
    res = evaluate_sequence(gt, pred, exclude_void=True)
    np.testing.assert_array_equal(res[1]['J'], [1.0, 1.0])
    pred[2][0, 9] = 4  # an id the first frame does not have
    with pytest.raises(ValueError, match=r'\[4\].*1\.\.3'):
        evaluate_sequence(gt, pred)
    with pytest.raises(ValueError, match='T >= 3'):
        evaluate_sequence(gt[:2], pred[:2])


def test_car_shadow_equals_official_scorer(shared_data):
    gt, pred = load_car_shadow(shared_data)
    res = evaluate_sequence(gt, pred)
    assert list(res) == [1] and len(OFFICIAL_J) == len(gt) - 2
    np.testing.assert_allclose(res[1]['J'], OFFICIAL_J, rtol=0, atol=1e-10)
    np.testing.assert_allclose(res[1]['F'], OFFICIAL_F, rtol=0, atol=1e-10)
    for key in ('J-Mean', 'J-Recall', 'J-Decay', 'F-Mean', 'F-Recall',
                'F-Decay'):
        assert res[1][key] == pytest.approx(OFFICIAL_GLOBAL[key], abs=1e-10)


def write_png(path, ids, palette=True):
    os.makedirs(osp.dirname(path), exist_ok=True)
    img = Image.fromarray(ids.astype(np.uint8), 'P' if palette else 'L')
    if palette:
        img.putpalette([0, 0, 0, 128, 0, 0] + [0] * 762)
    img.save(path)


def test_evaluate_davis_folder_car_shadow(shared_data, tmp_path):
    gt, pred = load_car_shadow(shared_data)
    for seq in (SEQUENCE, 'copy'):  # two sequences: the pool is used
        for t in range(len(gt)):
            write_png(str(tmp_path / 'DAVIS' / 'Annotations' / '480p' / seq /
                          f'{t:05d}.png'), gt[t], palette=False)
    pred_root = tmp_path / 'results'
    for t in range(1, len(gt) - 1):  # the first and last are optional
        write_png(str(pred_root / 'copy' / f'{t:05d}.png'), pred[t])
    os.symlink(osp.join(shared_data, 'davis2017_osvos_results', SEQUENCE),
               str(pred_root / SEQUENCE))
    out = evaluate_davis_folder(str(pred_root), str(tmp_path / 'DAVIS'),
                                nproc=2)
    assert list(out['per_object']) == ['car-shadow_1', 'copy_1']
    for key, value in OFFICIAL_GLOBAL.items():
        assert out['global'][key] == pytest.approx(value, abs=1e-10)
    np.testing.assert_allclose(out['per_frame']['copy_1']['F'], OFFICIAL_F,
                               rtol=0, atol=1e-10)


@pytest.fixture
def tiny_folder(tmp_path):
    gt = np.zeros((4, 12, 16), np.uint8)
    gt[:, 2:6, 3:9] = 1
    for t in range(4):
        write_png(str(tmp_path / 'DAVIS' / 'Annotations' / '480p' / 'v' /
                      f'{t:05d}.png'), gt[t])
        write_png(str(tmp_path / 'res' / 'v' / f'{t:05d}.png'), gt[t])
    return tmp_path


def test_evaluate_davis_folder_errors(tiny_folder):
    davis, res = str(tiny_folder / 'DAVIS'), tiny_folder / 'res'
    out = evaluate_davis_folder(str(res), davis, sequences=['v'])
    assert out['global']['J&F-Mean'] == 1.0
    write_png(str(res / 'v' / '00009.png'), np.zeros((12, 16)))
    with pytest.raises(ValueError, match='00009.png'):
        evaluate_davis_folder(str(res), davis)
    os.remove(res / 'v' / '00009.png')
    write_png(str(res / 'v' / '00002.png'), np.zeros((12, 15)))
    with pytest.raises(ValueError, match=r'00002.png has size \(12, 15\)'):
        evaluate_davis_folder(str(res), davis)
    os.remove(res / 'v' / '00002.png')
    with pytest.raises(FileNotFoundError, match='00002.png not found'):
        evaluate_davis_folder(str(res), davis)
    with pytest.raises(FileNotFoundError, match="'w'"):
        evaluate_davis_folder(str(res), davis, sequences=['w'])
