import os
import os.path as osp
from unittest import mock

import numpy as np
import pytest
import torch

from mmvidseg.datasets import BaseVolumeDataset, NiftiVolumeDataset
from mmvidseg.datasets.volume_cache import VolumeCache
from mmvidseg.registry import DATASETS

nib = pytest.importorskip('nibabel')

VOLUME_META = ('video_id', 'frame_id', 'frame_ids', 'key_index', 'spacing',
               'volume_spacing', 'slice_spacing', 'num_slices', 'slice_index',
               'volume_shape', 'affine', 'ori_shape')


def write_nifti(path, data, affine=None):
    affine = np.diag([1., 1., 1., 1.]) if affine is None else affine
    nib.Nifti1Image(data, affine).to_filename(str(path))
    return str(path)


def make_layout(root,
                cases=('a', 'b'),
                shape=(6, 5, 4),
                labels=True,
                affine=None):
    """nnU-Net layout with voxel value = 100 * case + slice index."""
    os.makedirs(osp.join(root, 'imagesTr'), exist_ok=True)
    os.makedirs(osp.join(root, 'labelsTr'), exist_ok=True)
    for n, case in enumerate(cases):
        img = np.broadcast_to(
            np.arange(shape[2], dtype=np.int16) + 100 * n, shape).copy()
        write_nifti(osp.join(root, 'imagesTr', f'{case}_0000.nii.gz'), img,
                    affine)
        if labels:
            seg = (img % 3).astype(np.uint8)
            write_nifti(osp.join(root, 'labelsTr', f'{case}.nii.gz'), seg,
                        affine)
    return str(root)


def real_ct_dataset(shared_data, cache_dir, pipeline=()):
    return NiftiVolumeDataset(data_root=osp.join(shared_data, 'totalseg_ct'),
                              img_dir='',
                              ann_dir='',
                              img_suffix='_ct_sm.nii.gz',
                              seg_map_suffix='_seg.nii.gz',
                              cases=['example'],
                              cache_dir=str(cache_dir),
                              pipeline=list(pipeline))


CLIP_PIPELINE = [
    dict(type='SampleClip',
         policy=dict(type='FixedOffsetClipPolicy', offsets=(-1, 1))),
    dict(type='LoadVolumeSlices'),
    dict(type='PackVideoSegInputs', meta_keys=VOLUME_META),
]


def test_real_ct_through_clip_pipeline(shared_data, tmp_path):
    ds = real_ct_dataset(shared_data, tmp_path, CLIP_PIPELINE)
    assert len(ds) == 30
    ct = osp.join(shared_data, 'totalseg_ct')
    img = nib.as_closest_canonical(
        nib.load(osp.join(ct, 'example_ct_sm.nii.gz')))
    seg = nib.as_closest_canonical(nib.load(osp.join(ct,
                                                     'example_seg.nii.gz')))
    vol = np.asanyarray(img.dataobj).astype(np.float32)
    lab = np.asanyarray(seg.dataobj).astype(np.int64)
    info = ds.get_data_info(7)
    assert info['slice_index'] == info['frame_id'] == 7
    assert info['num_slices'] == 30
    assert info['volume_shape'] == (122, 101, 30)
    np.testing.assert_allclose(info['spacing'], (3, 3, 3), atol=1e-4)
    np.testing.assert_allclose(info['affine'], img.affine, atol=1e-6)
    # one volume path object shared by every slice of the frame table
    paths = ds.video_table['example']['img_paths']
    assert len(paths) == 30 and all(p is paths[0] for p in paths)
    for k in (0, 14, 29):
        out = ds[k]
        meta = out['data_samples'].metainfo
        assert out['inputs'].shape == (3, 1, 122, 101)
        ids = [max(k - 1, 0), k, min(k + 1, 29)]
        assert meta['frame_ids'] == ids and meta['key_index'] == 1
        for t, i in enumerate(ids):
            np.testing.assert_array_equal(out['inputs'][t, 0].numpy(),
                                          vol[:, :, i])
        np.testing.assert_array_equal(
            out['data_samples'].gt_sem_seg.data[0].numpy(), lab[:, :, k])
        assert out['data_samples'].gt_clip_seg.data.shape == (3, 122, 101)
        np.testing.assert_allclose(meta['spacing'], (3, 3), atol=1e-4)
        np.testing.assert_allclose(meta['volume_spacing'], (3, 3, 3),
                                   atol=1e-4)
    assert lab.max() > 0  # organs present, so the label check can fail


def test_cache_written_once_and_reused(shared_data, tmp_path):
    ds = real_ct_dataset(shared_data, tmp_path, CLIP_PIPELINE)
    first = ds[10]
    files = sorted(os.listdir(tmp_path))
    assert [f.rsplit('.', 1)[1] for f in files] == ['json', 'npy'] * 2
    stamps = {f: os.stat(tmp_path / f).st_mtime_ns for f in files}
    with mock.patch('nibabel.load', side_effect=AssertionError) as load:
        ds2 = real_ct_dataset(shared_data, tmp_path, CLIP_PIPELINE)
        second = ds2[10]
        assert not load.called
    assert torch.equal(first['inputs'], second['inputs'])
    assert torch.equal(first['data_samples'].gt_sem_seg.data,
                       second['data_samples'].gt_sem_seg.data)
    assert sorted(os.listdir(tmp_path)) == files
    assert {f: os.stat(tmp_path / f).st_mtime_ns for f in files} == stamps
    # slices are memory-mapped from the .npy copy, slice axis first
    arr = VolumeCache(str(tmp_path)).load(
        osp.join(shared_data, 'totalseg_ct', 'example_ct_sm.nii.gz'))
    assert isinstance(arr, np.memmap) and arr.shape == (30, 122, 101)


def test_cache_key_follows_file_changes(tmp_path):
    path = write_nifti(tmp_path / 'v.nii.gz', np.zeros((3, 3, 2), np.int16))
    cache = VolumeCache(str(tmp_path / 'cache'))
    assert cache.load(path).max() == 0
    first = cache.entry(path)
    write_nifti(path, np.ones((3, 3, 2), np.int16))
    os.utime(path, ns=(10**9, 10**9))  # a new mtime: a new entry
    assert cache.entry(path) != first
    assert cache.load(path).max() == 1
    assert cache.entry(path) != cache.entry(path, 'label')


def test_non_canonical_orientation_is_flipped(tmp_path):
    data = np.arange(4 * 3 * 2, dtype=np.int16).reshape(4, 3, 2)
    lps = np.diag([-2., -3., 4., 1.])
    lps[:3, 3] = (10, 20, 30)
    os.makedirs(tmp_path / 'imagesTr')
    write_nifti(tmp_path / 'imagesTr' / 'c_0000.nii.gz', data, lps)
    ds = NiftiVolumeDataset(data_root=str(tmp_path),
                            frames='all',
                            cache_dir=str(tmp_path / 'cache'),
                            pipeline=[dict(type='LoadVolumeSlices')])
    assert len(ds) == 2
    info = ds.get_data_info(1)
    assert info['volume_shape'] == (4, 3, 2)
    assert info['spacing'] == (2., 3., 4.)
    assert np.all(np.diag(info['affine'])[:3] > 0)  # RAS+
    out = ds[1]
    np.testing.assert_array_equal(out['img'][0][..., 0], data[::-1, ::-1, 1])
    assert 'gt_seg_map' not in out
    # the same voxel keeps its world position
    world = lps.dot([0, 0, 1, 1])
    assert np.allclose(info['affine'].dot([3, 2, 1, 1]), world)


def test_slice_axis_and_item_rules(tmp_path):
    root = make_layout(tmp_path, shape=(6, 5, 4))
    ds = NiftiVolumeDataset(data_root=root,
                            ann_dir='labelsTr',
                            cache_dir=str(tmp_path / 'c'),
                            lazy_init=True)
    ds.full_init()
    assert len(ds) == 8 and ds.video_indices()['b'] == [4, 5, 6, 7]
    sag = NiftiVolumeDataset(data_root=root,
                             ann_dir='labelsTr',
                             slice_axis=0,
                             cache_dir=str(tmp_path / 'c'),
                             pipeline=[dict(type='LoadVolumeSlices')])
    assert len(sag) == 12 and sag.get_data_info(0)['num_slices'] == 6
    out = sag[7]  # case b, sagittal slice 1: (5, 4) with values 100..103
    assert out['img'][0].shape == (5, 4, 1)
    assert (out['img'][0][..., 0] == np.arange(4) + 100).all()
    assert out['spacing'] == (1., 1.)


class MixedVolumes(BaseVolumeDataset):

    def __init__(self, volumes, **kwargs):
        self.volumes = volumes
        super().__init__(**kwargs)

    def load_volume_list(self):
        return self.volumes


def test_labelled_and_unlabelled_volumes(tmp_path):
    root = make_layout(tmp_path, shape=(3, 3, 5))
    vols = [
        dict(video_id='a',
             img_path=osp.join(root, 'imagesTr/a_0000.nii.gz'),
             seg_map_path=osp.join(root, 'labelsTr/a.nii.gz')),
        dict(video_id='b',
             img_path=osp.join(root, 'imagesTr/b_0000.nii.gz'),
             seg_map_path=None),
    ]
    cache = str(tmp_path / 'c')
    labelled = MixedVolumes(vols, cache_dir=cache)
    assert {
        labelled.get_data_info(i)['video_id']
        for i in range(len(labelled))
    } == {'a'}
    assert len(labelled) == 5
    every = MixedVolumes(vols, frames='all', cache_dir=cache)
    assert len(every) == 10
    assert every.get_data_info(7)['seg_map_path'] is None
    with pytest.raises(ValueError, match="frames='all'"):
        MixedVolumes(vols[1:], cache_dir=cache)
    reg = DATASETS.build(
        dict(type='NiftiVolumeDataset',
             data_root=root,
             frames='all',
             cache_dir=cache))
    assert len(reg) == 10 and reg.get_data_info(0)['seg_map_path'] is None


def test_missing_files_named(tmp_path):
    root = make_layout(tmp_path)
    with pytest.raises(FileNotFoundError, match='zz_0000.nii.gz'):
        NiftiVolumeDataset(data_root=root, cases=['a', 'zz'], frames='all')
    os.remove(osp.join(root, 'labelsTr', 'b.nii.gz'))
    with pytest.raises(FileNotFoundError, match=r'labelsTr.b\.nii\.gz'):
        NiftiVolumeDataset(data_root=root, ann_dir='labelsTr')
    with pytest.raises(FileNotFoundError, match='nowhere'):
        NiftiVolumeDataset(data_root=root, img_dir='nowhere')
    with pytest.raises(ValueError, match='no file ending'):
        NiftiVolumeDataset(data_root=root, img_suffix='.mha')


@pytest.mark.parametrize('bad, match', [
    ('shape', r'labelsTr.a\.nii\.gz.*shape \(6, 5, 3\)'),
    ('affine', r'labelsTr.a\.nii\.gz.*affine differs'),
])
def test_label_image_mismatch_named(tmp_path, bad, match):
    root = make_layout(tmp_path, cases=('a', ))
    seg = osp.join(root, 'labelsTr', 'a.nii.gz')
    if bad == 'shape':
        write_nifti(seg, np.zeros((6, 5, 3), np.uint8))
    else:
        write_nifti(seg, np.zeros((6, 5, 4), np.uint8),
                    np.diag([1., 1., 1.1, 1.]))
    with pytest.raises(ValueError, match=match):
        NiftiVolumeDataset(data_root=root,
                           ann_dir='labelsTr',
                           cache_dir=str(tmp_path / 'c'))


def test_affine_tolerance(tmp_path):
    root = make_layout(tmp_path, cases=('a', ))
    aff = np.eye(4)
    aff[0, 3] = 1e-4  # float32 header round-off
    write_nifti(osp.join(root, 'labelsTr', 'a.nii.gz'),
                np.zeros((6, 5, 4), np.uint8), aff)
    ds = NiftiVolumeDataset(data_root=root,
                            ann_dir='labelsTr',
                            cache_dir=str(tmp_path / 'c'))
    assert len(ds) == 4
    with pytest.raises(ValueError, match='affine'):
        NiftiVolumeDataset(data_root=root,
                           ann_dir='labelsTr',
                           affine_atol=1e-5,
                           cache_dir=str(tmp_path / 'c'))


@pytest.mark.parametrize('shape, match', [
    ((4, 0, 3), r'bad_0000\.nii\.gz.*empty'),
    ((4, 3, 2, 2), r'bad_0000\.nii\.gz.*expected a 3D'),
    ((4, 3), r'bad_0000\.nii\.gz.*expected a 3D'),
])
def test_bad_volume_named(tmp_path, shape, match):
    os.makedirs(tmp_path / 'imagesTr')
    write_nifti(tmp_path / 'imagesTr' / 'bad_0000.nii.gz',
                np.zeros(shape, np.int16))
    with pytest.raises(ValueError, match=match):
        NiftiVolumeDataset(data_root=str(tmp_path),
                           frames='all',
                           cache_dir=str(tmp_path / 'c'))


def test_unreadable_volume_named(tmp_path):
    os.makedirs(tmp_path / 'imagesTr')
    with open(tmp_path / 'imagesTr' / 'x_0000.nii.gz', 'wb') as f:
        f.write(b'not a nifti file')
    with pytest.raises(OSError, match=r'x_0000\.nii\.gz'):
        NiftiVolumeDataset(data_root=str(tmp_path),
                           frames='all',
                           cache_dir=str(tmp_path / 'c'))
