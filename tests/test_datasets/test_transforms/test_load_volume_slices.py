import os
import pickle

import numpy as np
import pytest
import torch

from mmvidseg.registry import TRANSFORMS

nib = pytest.importorskip('nibabel')


def write_nifti(path, data, spacing=(1., 1., 1.)):
    nib.Nifti1Image(data, np.diag(list(spacing) + [1.])).to_filename(str(path))
    return str(path)


@pytest.fixture
def volume(tmp_path):
    """(4, 3, 5) int16 volume whose value is 10 * slice index - 20, with a
    label volume whose id is the slice index."""
    data = np.broadcast_to(np.arange(5, dtype=np.int16) * 10 - 20,
                           (4, 3, 5)).copy()
    data[0, 0, :] = 1000  # outside any window below
    img = write_nifti(tmp_path / 'ct.nii.gz', data, (2., 3., 4.))
    seg = write_nifti(
        tmp_path / 'seg.nii.gz',
        np.broadcast_to(np.arange(5, dtype=np.uint8), (4, 3, 5)).copy(),
        (2., 3., 4.))
    return img, seg, data


def _load(tmp_path, **kw):
    kw.setdefault('cache_dir', str(tmp_path / 'cache'))
    return TRANSFORMS.build(dict(type='LoadVolumeSlices', **kw))


def test_clip_lists_and_labels(tmp_path, volume):
    img, seg, data = volume
    out = _load(tmp_path)(dict(img_path=[img] * 3,
                               frame_ids=[1, 2, 4],
                               seg_map_path=[seg, None, seg],
                               key_index=1))
    assert [im.shape for im in out['img']] == [(4, 3, 1)] * 3
    assert all(im.dtype == np.float32 for im in out['img'])
    for im, k in zip(out['img'], (1, 2, 4)):
        np.testing.assert_array_equal(im[..., 0], data[:, :, k])
    assert out['gt_seg_map'][0].dtype == np.uint8
    assert (out['gt_seg_map'][0] == 1).all()
    assert (out['gt_seg_map'][2] == 4).all()
    assert (out['gt_seg_map'][1] == 255).all()  # unlabelled frame
    assert out['seg_fields'] == ['gt_seg_map']
    assert out['img_shape'] == out['ori_shape'] == [(4, 3)] * 3
    assert out['flip'] == [False] * 3 and out['scale_factor'][0] == (1., 1.)
    assert out['spacing'] == (2., 3.) and out['slice_spacing'] == 4.
    assert out['volume_spacing'] == (2., 3., 4.)


def test_neighbours_clamped_at_volume_ends(tmp_path, volume):
    img, _, data = volume
    load = _load(tmp_path, num_neighbours=2)
    first = load(dict(img_path=img, slice_index=0))['img'][0]
    last = load(dict(img_path=img, slice_index=4))['img'][0]
    assert first.shape == (4, 3, 5)
    assert list(first[1, 1]) == [-20, -20, -20, -10, 0]
    assert list(last[1, 1]) == [0, 10, 20, 20, 20]
    mid = load(dict(img_path=img, frame_id=2))['img'][0]
    np.testing.assert_array_equal(mid, data[:, :, :5].astype(np.float32))


def test_window(tmp_path, volume):
    img, _, _ = volume
    out = _load(tmp_path, window=(-10, 10))(dict(img_path=img, slice_index=0))
    im = out['img'][0][..., 0]
    assert im.dtype == np.float32
    assert im[1, 1] == 0 and im[0, 0] == 255  # -20 -> lo, 1000 -> hi
    out = _load(tmp_path, window=(-10, 10))(dict(img_path=img, slice_index=2))
    assert out['img'][0][1, 1, 0] == pytest.approx(127.5)
    with pytest.raises(ValueError, match='lo < hi'):
        _load(tmp_path, window=(5, 5))


def test_label_map_and_wide_ids(tmp_path, volume):
    img, seg, _ = volume
    out = _load(tmp_path)(dict(img_path=img,
                               slice_index=3,
                               seg_map_path=seg,
                               label_map={3: 1}))
    assert (out['gt_seg_map'][0] == 1).all()
    wide = write_nifti(tmp_path / 'wide.nii.gz',
                       np.full((4, 3, 5), 300, np.int32), (2., 3., 4.))
    out = _load(tmp_path)(dict(img_path=img, slice_index=3, seg_map_path=wide))
    assert out['gt_seg_map'][0].dtype == np.int64
    assert (out['gt_seg_map'][0] == 300).all()


def test_float_labels(tmp_path, volume):
    img, _, _ = volume
    ok = write_nifti(tmp_path / 'f.nii.gz', np.full((4, 3, 5), 2., np.float32))
    out = _load(tmp_path)(dict(img_path=img, slice_index=0, seg_map_path=ok))
    assert out['gt_seg_map'][0].dtype == np.uint8
    assert (out['gt_seg_map'][0] == 2).all()
    bad = write_nifti(tmp_path / 'g.nii.gz', np.full((4, 3, 5), 0.5,
                                                     np.float32))
    with pytest.raises(ValueError, match=r'g\.nii\.gz.*non-integer'):
        _load(tmp_path)(dict(img_path=img, slice_index=0, seg_map_path=bad))


def test_errors_named(tmp_path, volume):
    img, seg, _ = volume
    load = _load(tmp_path)
    with pytest.raises(IndexError, match=r'slice 5 .*ct\.nii\.gz'):
        load(dict(img_path=img, slice_index=5))
    with pytest.raises(KeyError, match='frame_ids'):
        load(dict(img_path=[img, img]))
    with pytest.raises(KeyError, match='slice_index'):
        load(dict(img_path=img))
    with pytest.raises(FileNotFoundError, match=r'gone\.nii\.gz'):
        load(dict(img_path=str(tmp_path / 'gone.nii.gz'), slice_index=0))
    small = write_nifti(tmp_path / 'small.nii.gz', np.zeros((4, 2, 5),
                                                            np.uint8))
    with pytest.raises(ValueError, match=r'small\.nii\.gz.*ct\.nii\.gz'):
        load(dict(img_path=img, slice_index=0, seg_map_path=small))
    other = write_nifti(tmp_path / 'other.nii.gz', np.zeros((4, 2, 5),
                                                            np.int16))
    with pytest.raises(ValueError, match=r'other\.nii\.gz.*same clip'):
        load(dict(img_path=[img, other], frame_ids=[0, 0]))


def test_broadcast_and_pack(tmp_path, volume):
    img, seg, data = volume
    pipeline = [
        _load(tmp_path, num_neighbours=1),
        TRANSFORMS.build(
            dict(type='ClipTransformBroadcaster',
                 share_random_params=True,
                 transforms=[
                     dict(type='RandomFlip', prob=1.0, direction='horizontal')
                 ])),
        TRANSFORMS.build(dict(type='PackVideoSegInputs')),
    ]
    res = dict(img_path=[img] * 2,
               seg_map_path=[seg] * 2,
               frame_ids=[1, 2],
               key_index=1)
    for t in pipeline:
        res = t(res)
    assert res['inputs'].shape == (2, 3, 4, 3)
    assert res['inputs'].dtype == torch.float32
    flipped = torch.from_numpy(data[:, ::-1, 2].astype(np.float32))
    assert torch.equal(res['inputs'][1, 1], flipped)
    assert res['data_samples'].flip
    assert res['data_samples'].gt_sem_seg.data.shape == (1, 4, 3)


def test_pickles_without_mapped_data(tmp_path, volume):
    img, _, _ = volume
    load = _load(tmp_path)
    load(dict(img_path=img, slice_index=0))
    assert os.listdir(tmp_path / 'cache')
    clone = pickle.loads(pickle.dumps(load))
    assert all(not c._open for c in clone._caches.values())
    out = clone(dict(img_path=img, slice_index=1))
    assert out['img'][0][1, 1, 0] == -10
