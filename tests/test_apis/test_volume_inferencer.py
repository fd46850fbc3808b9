"""Two-stage volume inference: slice bookkeeping (golden values from the
original), NIfTI geometry and the driver with stand-in models."""
import warnings

import numpy as np
import pytest
import torch
from mmengine.structures import PixelData

from mmvidseg.apis import TwoStageVolumeInferencer
from mmvidseg.apis.volume_io import (from_canonical, list_volumes,
                                     read_canonical, write_labels_like)
from mmvidseg.apis.volume_references import (candidate_slices, case_name,
                                             propagation_ranges,
                                             select_references, visited_slices)
from mmvidseg.apis.volume_steps import (cps_predict, labels_from_acc,
                                        new_accumulator, normalizer,
                                        propagate_volume)

from ._trivial_propagator import TrivialPropagator

nib = pytest.importorskip('nibabel')

# Golden values: kaylode/ivos @ 276ee41 (git archive into /tmp, unchanged),
# a script importing source/semantic2D/utilities/sampling.py and
# referencer.py directly (numpy/torch only), run with the project's python:
#   sampling_frames(n, max_frames=m, uniform=True, sampling_rate=s)
#   Referencer().search_reference(mask, 'largest-area')   (masks below)
#   Referencer().find_propagation_range(guides, n), and again with
#   list(reversed(guides)) (the bidirectional pass of
#   inference_core_efficient.get_prediction).
SAMPLING_GOLDEN = {
    (1, 5, 64): [],
    (4, 5, 64): [],
    (5, 5, 64): [0],
    (9, 5, 64): [0],
    (10, 5, 64): [0, 9],
    (30, 5, 64): [0, 5, 11, 17, 23, 29],
    (99, 5, 64): [0, 5, 10, 16, 21, 27, 32, 38, 43, 49, 54, 59, 65, 70, 76,
                  81, 87, 92, 98],
    (100, 5, 64): [0, 5, 10, 15, 20, 26, 31, 36, 41, 46, 52, 57, 62, 67, 72,
                   78, 83, 88, 93, 99],
    (333, 5, 64): [
        0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 51, 56, 61, 66, 71, 76, 81, 86,
        91, 97, 102, 107, 112, 117, 122, 127, 132, 137, 143, 148, 153, 158,
        168, 173, 178, 183, 188, 194, 199, 204, 209, 214, 219, 224, 229, 234,
        240, 245, 250, 255, 260, 265, 270, 275, 280, 286, 291, 296, 301, 306,
        311, 316, 321, 332],
    (1000, 5, 64): [
        0, 15, 30, 45, 60, 75, 90, 110, 125, 140, 155, 170, 185, 205, 220,
        235, 251, 266, 281, 301, 316, 331, 346, 361, 376, 391, 411, 426, 441,
        456, 471, 486, 507, 522, 537, 552, 567, 582, 602, 617, 632, 647, 662,
        677, 692, 712, 727, 742, 758, 773, 788, 808, 823, 838, 853, 868, 883,
        903, 918, 933, 948, 963, 978, 999],
    (30, 3, 64): [0, 3, 6, 9, 12, 16, 19, 22, 25, 29],
    (100, 5, 7): [0, 15, 31, 46, 62, 78, 99],
    (57, 4, 10): [0, 4, 8, 17, 21, 30, 34, 43, 47, 56],
}

# a (8, 5, 5) mask drawn with np.random.RandomState(0) in the golden script
M2 = [[[0, 0, 3, 0, 0], [0, 3, 0, 0, 0], [0, 0, 0, 1, 0], [1, 0, 0, 0, 0],
       [0, 0, 3, 0, 2]],
      [[3, 0, 1, 0, 3], [3, 0, 1, 1, 1], [0, 2, 0, 0, 0], [2, 0, 2, 0, 0],
       [0, 0, 4, 1, 4]],
      [[1, 2, 2, 0, 1], [1, 1, 0, 0, 3], [0, 0, 0, 3, 4], [0, 2, 0, 0, 0],
       [4, 4, 0, 0, 4]],
      [[0, 0, 0, 3, 0], [0, 0, 1, 3, 0], [0, 1, 2, 4, 0], [0, 3, 0, 2, 0],
       [0, 0, 2, 0, 3]],
      [[0, 0, 2, 1, 0], [0, 0, 3, 0, 3], [0, 1, 2, 3, 0], [2, 1, 4, 2, 0],
       [0, 3, 0, 3, 0]],
      [[0, 0, 3, 0, 3], [0, 4, 0, 0, 2], [0, 0, 0, 0, 0], [0, 0, 0, 0, 2],
       [0, 4, 0, 0, 0]],
      [[0, 3, 3, 0, 1], [0, 0, 0, 0, 0], [0, 4, 0, 3, 1], [0, 0, 0, 3, 0],
       [0, 0, 0, 0, 2]],
      [[0, 3, 1, 0, 4], [0, 0, 3, 0, 0], [0, 4, 0, 3, 0], [3, 0, 0, 2, 0],
       [0, 0, 0, 3, 3]]]


@pytest.mark.parametrize('key', list(SAMPLING_GOLDEN))
def test_candidate_slices_golden(key):
    n, every, max_refs = key
    assert candidate_slices(n, every, max_refs) == SAMPLING_GOLDEN[key]


def test_candidate_slices_errors():
    with pytest.raises(ValueError, match='sample_every'):
        candidate_slices(10, 0)
    with pytest.raises(ValueError, match='num_slices'):
        candidate_slices(-1)


def _hand_mask():
    m = np.zeros((6, 4, 4), np.int64)
    m[0, :2, :2] = 1  # class 1: area 4 at slice 0
    m[2, :, :2] = 1  # area 8 at slice 2 ...
    m[4, :, :2] = 1  # ... and a tie at slice 4
    m[1, 0, :] = 3  # class 3: area 4 at slice 1
    m[3, 0, :3] = 3
    m[5, :, :] = 2  # class 2: area 16 at slice 5
    m[5, 0, 0] = 3
    return m


def test_select_references_golden():
    # local candidate order = slice order, as the original's candidates
    m = _hand_mask()
    assert select_references(dict(enumerate(m)), 4) == [1, 2, 5]  # golden
    m2 = np.array(M2)
    assert select_references(dict(enumerate(m2)), 5) == [1, 2, 4, 7]
    assert select_references(dict(enumerate(np.zeros((3, 4, 4), int))),
                             14) == []
    # candidates at global slice indices; ids >= num_classes are ignored
    cands = {10: m[0], 20: m[2], 30: m[4], 40: m[5] * 10}
    assert select_references(cands, 4) == [20]


@pytest.mark.parametrize('guides,n,expected', [
    ([5], 30, [(5, 0), (5, 30), (5, 0), (5, 30)]),
    ([0], 30, [(0, 0), (0, 30), (0, 0), (0, 30)]),
    ([29], 30, [(29, 0), (29, 30), (29, 0), (29, 30)]),
    ([3, 10, 20], 30, [(3, 0), (3, 10), (10, 20), (20, 30), (3, 0), (20, 10),
                       (10, 3), (20, 30)]),
    ([0, 29], 30, [(0, 0), (0, 29), (29, 30), (0, 0), (29, 0), (29, 30)]),
    ([2, 7], 12, [(2, 0), (2, 7), (7, 12), (2, 0), (7, 2), (7, 12)]),
])
def test_propagation_ranges_golden(guides, n, expected):
    assert propagation_ranges(guides, n) == expected
    half = len(expected) // 2
    assert propagation_ranges(guides, n, bidirectional=False) == \
        expected[:half]


def test_propagation_ranges_errors_and_visits():
    assert propagation_ranges([], 10) == []
    with pytest.raises(ValueError, match='sorted'):
        propagation_ranges([5, 3], 10)
    with pytest.raises(ValueError, match='outside'):
        propagation_ranges([3, 10], 10)
    # ivos inference_core_efficient.do_pass: forward start+1 .. end-1,
    # backward start .. end (both included)
    assert visited_slices(3, 7) == [4, 5, 6]
    assert visited_slices(7, 10) == [8, 9]
    assert visited_slices(9, 10) == []
    assert visited_slices(3, 0) == [3, 2, 1, 0]
    assert visited_slices(0, 0) == [0]
    assert visited_slices(7, 3) == [7, 6, 5, 4, 3]


def test_case_name():
    assert case_name('/a/FLARE22_Tr_0001_0000.nii.gz') == 'FLARE22_Tr_0001'
    assert case_name('Case_00001.nii.gz') == 'Case_00001'
    assert case_name('x/vol.nii') == 'vol'


def _lps_volume(tmp_path, shape=(20, 18, 9), name='case_0000.nii.gz'):
    """An int16 volume stored in LPS orientation with scaling, qform 1 and
    sform 2."""
    aff = np.diag([-0.8, -0.7, 2.5, 1.])
    aff[:3, 3] = [40., 30., -20.]
    data = (np.arange(np.prod(shape)) % 500 - 200).reshape(shape)
    img = nib.Nifti1Image(data.astype(np.int16), aff)
    img.set_qform(aff, 1)
    img.set_sform(aff, 2)
    img.header.set_slope_inter(1.0, -10.0)
    path = tmp_path / name
    img.to_filename(str(path))
    return str(path), data


def test_nifti_roundtrip_geometry(tmp_path):
    path, data = _lps_volume(tmp_path)
    hu, img = read_canonical(path)
    assert hu.shape == (20, 18, 9)
    # canonical (RAS) = stored flipped along the two L/P axes, scaled
    np.testing.assert_allclose(hu, data[::-1, ::-1] - 10.)
    labels = (np.abs(hu) % 14).astype(np.uint8)
    out = str(tmp_path / 'out' / 'case.nii.gz')
    write_labels_like(from_canonical(labels, img), img, out)
    back = nib.load(out)
    assert back.get_data_dtype() == np.uint8
    np.testing.assert_array_equal(np.asarray(back.dataobj),
                                  labels[::-1, ::-1])
    np.testing.assert_allclose(back.affine, img.affine)
    assert back.header.get_zooms() == img.header.get_zooms()
    for get in ('get_qform', 'get_sform'):
        a, ca = getattr(back.header, get)(coded=True)
        b, cb = getattr(img.header, get)(coded=True)
        assert int(ca) == int(cb)
        np.testing.assert_allclose(a, b)
    assert np.isnan(back.header['scl_slope']) or \
        back.header['scl_slope'] in (0, 1)
    with pytest.raises(ValueError, match='shape'):
        write_labels_like(labels[:-1], img, out)


def test_list_volumes_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='does not exist'):
        list_volumes(str(tmp_path / 'missing.nii.gz'))
    with pytest.raises(FileNotFoundError, match='no .nii'):
        list_volumes(str(tmp_path))
    (tmp_path / 'a.txt').write_text('x')
    with pytest.raises(ValueError, match='not a NIfTI'):
        list_volumes(str(tmp_path / 'a.txt'))
    path, _ = _lps_volume(tmp_path)
    assert list_volumes(str(tmp_path)) == [path]


class FakeCPS:
    """Labels 1 where the abdomen window is bright, 2 where the spine
    window is; records the slice positions it saw."""

    num_classes = 3

    def __init__(self):
        self.positions = []
        self.batches = []

    def test_step(self, data):
        out = []
        self.batches.append(len(data['inputs']))
        for img, sample in zip(data['inputs'], data['data_samples']):
            assert img.shape[1:] == sample.img_shape == sample.ori_shape
            self.positions.append(sample.slice_position)
            lab = torch.zeros(img.shape[1:], dtype=torch.long)
            lab[img[0] > 200] = 1
            lab[img[2] > 150] = 2
            sample.pred_sem_seg = PixelData(data=lab[None])
            out.append(sample)
        return out


def test_cps_predict_batches():
    model = FakeCPS()
    x = torch.zeros(5, 3, 8, 8)
    x[1, 0] = 255
    pred = cps_predict(model, x, [0., .2, .4, .6, .8], batch_size=2)
    assert model.batches == [2, 2, 1]
    assert model.positions == [0., .2, .4, .6, .8]
    assert pred.shape == (5, 8, 8) and pred[1].eq(1).all()
    assert pred[[0, 2, 3, 4]].eq(0).all()
    with pytest.raises(ValueError, match='positions'):
        cps_predict(model, x, [0.])
    # a subset gathered batch by batch
    model = FakeCPS()
    pred = cps_predict(model, x, [.2, .8], batch_size=1, indices=[1, 4])
    assert model.batches == [1, 1] and model.positions == [.2, .8]
    assert pred[0].eq(1).all() and pred[1].eq(0).all()


def test_normalizer():
    from mmseg.models import SegDataPreProcessor

    from mmvidseg.models.data_preprocessors import VideoSegDataPreProcessor
    x = torch.rand(2, 3, 4, 4) * 255
    for pre in (SegDataPreProcessor([0, 0, 0], [255, 255, 255]),
                VideoSegDataPreProcessor([0, 0, 0], [255, 255, 255])):
        torch.testing.assert_close(normalizer(pre)(x.clone()), x / 255)
    pre = VideoSegDataPreProcessor([1, 2, 3], [2, 4, 8], bgr_to_rgb=True)
    expect = (x[:, [2, 1, 0]] - torch.tensor([1., 2, 3]).view(1, 3, 1, 1)) \
        / torch.tensor([2., 4, 8]).view(1, 3, 1, 1)
    torch.testing.assert_close(normalizer(pre)(x.clone()), expect)
    assert normalizer(None)(x) is x


class RecordingPropagator:
    """Adds the reference one-hot at ``start`` and 0.5 of it on visited
    slices; records every call."""

    def __init__(self):
        self.calls = []

    def propagate_range(self, frames, start, end, ref_mask, acc, *,
                        num_objects, **kwargs):
        self.calls.append((start, end, int(ref_mask.max()), num_objects,
                           kwargs))
        one_hot = torch.nn.functional.one_hot(ref_mask, num_objects + 1)
        one_hot = one_hot.permute(2, 0, 1).to(acc.dtype)
        acc[:, start] += one_hot
        for t in visited_slices(start, end):
            acc[:, t] += 0.5 * one_hot


def test_propagate_volume_and_argmax():
    frames = torch.zeros(10, 3, 4, 4)
    refs = {3: torch.full((4, 4), 1), 6: torch.full((4, 4), 2)}
    acc = new_accumulator(3, 10, (4, 4))
    prop = RecordingPropagator()
    visited = []
    ranges = propagate_volume(prop, frames, refs, acc, progress=visited.append,
                              max_frames=7)
    assert ranges == [(3, 0), (3, 6), (6, 10), (3, 0), (6, 3), (6, 10)]
    assert [c[:4] for c in prop.calls] == [
        (3, 0, 1, 2), (3, 6, 1, 2), (6, 10, 2, 2), (3, 0, 1, 2),
        (6, 3, 2, 2), (6, 10, 2, 2)]
    assert prop.calls[0][4] == dict(max_frames=7)
    assert visited == [4, 2, 3, 4, 4, 3]
    labels = labels_from_acc(acc, (4, 4))
    assert labels.shape == (4, 4, 10) and labels.dtype == np.uint8
    # 0..3 from slice 3, 4..5 forward from 3 (+ backward from 6 ties ->
    # lower id), 6..9 from slice 6
    assert [int(labels[0, 0, t]) for t in range(10)] == \
        [1, 1, 1, 1, 1, 1, 2, 2, 2, 2]
    # no reference: nothing runs, everything background, a warning
    acc = new_accumulator(3, 10, (4, 4))
    with pytest.warns(UserWarning, match='no reference'):
        assert propagate_volume(prop, frames, {}, acc) == []
    assert labels_from_acc(acc, (2, 3)).max() == 0
    with pytest.raises(ValueError, match='accumulator'):
        propagate_volume(prop, frames, refs, new_accumulator(3, 9, (4, 4)))


def test_labels_from_acc_unpad_resize():
    acc = torch.zeros(3, 1, 6, 8)
    acc[1, 0, 1:5, 1:7] = 1  # the unpadded (4, 6) core is class 1 ...
    acc[2, 0, 1:3, 1:4] = 2  # ... with a class-2 quarter
    out = labels_from_acc(acc, (8, 12), lambda x: x[:, :, 1:5, 1:7])
    expect = np.ones((8, 12), np.uint8)
    expect[:4, :6] = 2
    np.testing.assert_array_equal(out[..., 0], expect)


def _blob_volume(tmp_path, shape=(40, 36, 12)):
    """Stored LPS: a bright (liver-like, 300 HU) box that moves along the
    slices in air-like background, bone-like at the border."""
    hu = np.full(shape, -50, np.int16)
    for k in range(shape[2]):
        hu[8 + k // 2:22 + k // 2, 10:24, k] = 230
    hu[:, -3:, :] = 1200
    aff = np.diag([-1.5, -1.5, 4., 1.])
    img = nib.Nifti1Image(hu, aff)
    img.set_sform(aff, 1)
    path = tmp_path / 'Blob_0000.nii.gz'
    img.to_filename(str(path))
    return str(path), hu


def test_driver_with_stand_ins(tmp_path, monkeypatch):
    path, hu = _blob_volume(tmp_path)
    prop = TrivialPropagator(stride=2, coord_weight=1.0)
    cps = FakeCPS()
    inferencer = TwoStageVolumeInferencer(
        cps, prop, size=(36, 30), sample_every=3, max_refs=3,
        memory_on_cpu=True, max_mem_frames=2, progress=False)
    res = inferencer(path, str(tmp_path / 'out'))
    assert list(res) == ['Blob']
    r = res['Blob']
    # 12 slices, every 3rd -> [0, 3, 7, 11] re-sampled to 3 -> [0, 3, 11]
    assert cps.positions == [0 / 12, 3 / 12, 11 / 12]
    assert r['references'] == [0]  # both classes largest at slice 0 (tie)
    assert prop.calls == [(0, 0), (0, 12), (0, 0), (0, 12)]
    assert r['timings']['total_s'] > 0 and r['slices_per_s'] > 0
    out = nib.load(r['out'])
    assert out.shape == hu.shape and out.get_data_dtype() == np.uint8
    np.testing.assert_allclose(out.affine, nib.load(path).affine)
    pred = np.asarray(out.dataobj)
    # the box is found (stored orientation) on every slice
    box = hu == 230
    assert (pred[box] == 1).mean() > 0.8 and (pred[~box & (hu < 0)] == 0) \
        .mean() > 0.9
    assert prop.max_entries <= 1 + 2 + 1  # reference, 2 working, temporary
    assert all(b.storage_device == torch.device('cpu') for b in prop.banks)
    # CPS on every slice (at the volume's own size: no resizing)
    inferencer = TwoStageVolumeInferencer(cps, prop, size=(40, 36),
                                          cps_batch_size=5, progress=False)
    res = inferencer(path, str(tmp_path / 'cps'), stage='cps')
    pred = np.asarray(nib.load(res['Blob']['out']).dataobj)
    assert (pred[box] == 1).all() and (pred[hu == 1200] == 2).all()
    with pytest.raises(ValueError, match='stage'):
        inferencer(path, str(tmp_path), stage='three')
    with pytest.raises(TypeError, match='propagate_range'):
        TwoStageVolumeInferencer(cps, object())
    with pytest.raises(ValueError, match='acc_dtype'):
        TwoStageVolumeInferencer(cps, prop, acc_dtype='int8')


def test_driver_float16_and_no_references(tmp_path):
    path, hu = _blob_volume(tmp_path)
    prop = RecordingPropagator()
    cps = FakeCPS()
    cps.test_step_orig = cps.test_step

    def empty(data):
        out = cps.test_step_orig(data)
        for s in out:
            s.pred_sem_seg.data.zero_()
        return out

    cps.test_step = empty
    inferencer = TwoStageVolumeInferencer(cps, prop, size=32,
                                          acc_dtype='float16',
                                          progress=False)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always')
        res = inferencer.predict_volume(hu.astype(np.float32))
    assert any('no reference' in str(x.message) for x in w)
    assert res['references'] == [] and res['labels'].max() == 0
    assert res['labels'].shape == hu.shape and prop.calls == []
