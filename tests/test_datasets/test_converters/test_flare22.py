"""FLARE22 release -> CTVolumeDataset layout, on a fake release made of the
shared CT."""
import os
import os.path as osp

import numpy as np
import pytest

from mmvidseg.datasets import CTVolumeDataset
from mmvidseg.datasets.converters import convert_flare22
from mmvidseg.datasets.flare22_meta import FLARE22_FIXED_VAL_CASES
from tests._flare_data import flare_label_volume, totalseg_paths
from tests.test_tools._run import run, tool

nib = pytest.importorskip('nibabel')

TRAIN = ('FLARE22_Tr_0001', 'FLARE22_Tr_0002')


def make_release(root, shared_data):
    """A tiny release: 7 labelled cases (2 train + the 5 fixed val), 3
    unlabelled cases in two archives, 2 validation cases with labels."""
    ct, _ = totalseg_paths(shared_data)
    labels, seg = flare_label_volume(shared_data)
    label_file = osp.join(root, 'flare_label.nii.gz')
    os.makedirs(root, exist_ok=True)
    nib.Nifti1Image(labels, seg.affine).to_filename(label_file)
    dirs = {}
    for d in ('FLARE22_LabeledCase50/images', 'FLARE22_LabeledCase50/labels',
              'FLARE22_UnlabeledCase1-250', 'FLARE22_UnlabeledCase1751-2000',
              'Validation', 'ValidationLabels'):
        dirs[d] = osp.join(root, d)
        os.makedirs(dirs[d])
    for case in TRAIN + FLARE22_FIXED_VAL_CASES:
        os.symlink(ct, osp.join(dirs['FLARE22_LabeledCase50/images'],
                                f'{case}_0000.nii.gz'))
        os.symlink(label_file, osp.join(dirs['FLARE22_LabeledCase50/labels'],
                                        f'{case}.nii.gz'))
    for folder, num in (('FLARE22_UnlabeledCase1-250', 7),
                        ('FLARE22_UnlabeledCase1751-2000', 1751),
                        ('FLARE22_UnlabeledCase1751-2000', 2000)):
        os.symlink(ct, osp.join(dirs[folder], f'Case_{num:05d}_0000.nii.gz'))
    for case in ('FLARETs_0001', 'FLARETs_0002'):
        os.symlink(ct, osp.join(dirs['Validation'], f'{case}_0000.nii.gz'))
        os.symlink(label_file, osp.join(dirs['ValidationLabels'],
                                        f'{case}.nii.gz'))
    with open(osp.join(dirs['Validation'], 'README.txt'), 'w') as f:
        f.write('not a case')
    return str(root)


@pytest.fixture
def release(tmp_path, shared_data):
    return make_release(tmp_path / 'release', shared_data)


def _lines(path):
    with open(path) as f:
        return f.read().splitlines()


def test_layout_links_and_splits(release, tmp_path, shared_data):
    out = str(tmp_path / 'flare22')
    summary = convert_flare22(release, out,
                              validation_labels='ValidationLabels',
                              progress=False)
    assert summary == dict(train=2, val=5, unlabelled=2,
                           unlabelled_out_of_range=1, validation=2,
                           validation_labels=2, out_dir=out, mode='link')
    splits = osp.join(out, 'splits')
    assert _lines(osp.join(splits, 'train.txt')) == list(TRAIN)
    assert _lines(osp.join(splits, 'val.txt')) == list(FLARE22_FIXED_VAL_CASES)
    assert _lines(osp.join(splits, 'unlabelled.txt')) == [
        'Case_01751', 'Case_02000'
    ]
    assert _lines(osp.join(splits, 'validation.txt')) == [
        'FLARETs_0001', 'FLARETs_0002'
    ]
    img = osp.join(out, 'imagesTr', 'FLARE22_Tr_0009_0000.nii.gz')
    assert osp.islink(img) and os.readlink(img) == osp.join(
        release, 'FLARE22_LabeledCase50', 'images',
        'FLARE22_Tr_0009_0000.nii.gz')
    assert osp.islink(osp.join(out, 'labelsTr', 'FLARE22_Tr_0009.nii.gz'))
    assert sorted(os.listdir(osp.join(out, 'unlabelled'))) == [
        'Case_01751_0000.nii.gz', 'Case_02000_0000.nii.gz'
    ]
    assert sorted(os.listdir(osp.join(out, 'labelsVal'))) == [
        'FLARETs_0001.nii.gz', 'FLARETs_0002.nii.gz'
    ]
    # the dataset reads the layout through the split files
    ds = CTVolumeDataset(data_root=out, ann_dir='labelsTr',
                         split='splits/train.txt',
                         cache_dir=str(tmp_path / 'cache'))
    assert list(ds.video_indices()) == list(TRAIN) and len(ds) == 60
    un = CTVolumeDataset(data_root=out, img_dir='unlabelled',
                         split='splits/unlabelled.txt',
                         cache_dir=str(tmp_path / 'cache'))
    assert len(un) == 60
    # again, copying and keeping every unlabelled case
    summary = convert_flare22(release, out, copy=True, unlabelled_range=None,
                              progress=False)
    assert summary['unlabelled'] == 3 and summary['validation_labels'] == 0
    assert not osp.islink(img) and osp.isfile(img)
    ct, _ = totalseg_paths(shared_data)
    with open(img, 'rb') as a, open(ct, 'rb') as b:
        assert a.read() == b.read()
    assert _lines(osp.join(splits, 'unlabelled.txt'))[0] == 'Case_00007'


def test_missing_label_named(release, tmp_path):
    os.remove(osp.join(release, 'FLARE22_LabeledCase50', 'labels',
                       'FLARE22_Tr_0002.nii.gz'))
    with pytest.raises(FileNotFoundError,
                       match=r"'FLARE22_Tr_0002'.*FLARE22_Tr_0002\.nii\.gz"):
        convert_flare22(release, str(tmp_path / 'o'), progress=False)


def test_label_without_image_named(release, tmp_path):
    os.remove(osp.join(release, 'FLARE22_LabeledCase50', 'images',
                       'FLARE22_Tr_0002_0000.nii.gz'))
    with pytest.raises(ValueError, match=r'FLARE22_Tr_0002\.nii\.gz.*no '
                       'image'):
        convert_flare22(release, str(tmp_path / 'o'), progress=False)


def test_header_mismatch_named(release, tmp_path):
    bad = osp.join(release, 'FLARE22_LabeledCase50', 'labels',
                   'FLARE22_Tr_0013.nii.gz')
    os.remove(bad)
    nib.Nifti1Image(np.zeros((122, 101, 29), np.uint8),
                    np.eye(4)).to_filename(bad)
    with pytest.raises(ValueError, match=r'FLARE22_Tr_0013\.nii\.gz.*shape'):
        convert_flare22(release, str(tmp_path / 'o'), progress=False)
    ct = nib.load(osp.join(release, 'FLARE22_LabeledCase50', 'images',
                           'FLARE22_Tr_0013_0000.nii.gz'))
    aff = ct.affine.copy()
    aff[0, 3] += 0.5
    nib.Nifti1Image(np.zeros(ct.shape, np.uint8), aff).to_filename(bad)
    with pytest.raises(ValueError, match=r'FLARE22_Tr_0013\.nii\.gz.*affine'):
        convert_flare22(release, str(tmp_path / 'o'), progress=False)


def test_missing_val_case_named(release, tmp_path):
    for sub, name in (('images', 'FLARE22_Tr_0025_0000.nii.gz'),
                      ('labels', 'FLARE22_Tr_0025.nii.gz')):
        os.remove(osp.join(release, 'FLARE22_LabeledCase50', sub, name))
    with pytest.raises(ValueError, match='FLARE22_Tr_0025'):
        convert_flare22(release, str(tmp_path / 'o'), progress=False)


def test_tool_summary_and_one_line_error(release, tmp_path):
    out = str(tmp_path / 'flare22')
    proc = run([tool('dataset_converters/flare22.py'), release, out,
                '--unlabelled-range', '1', '250'])
    assert 'train           2 labelled cases' in proc.stdout
    assert 'unlabelled      1 cases (2 outside the range left out)' in \
        proc.stdout
    assert 'validation      2 cases, 0 with labels' in proc.stdout
    assert _lines(osp.join(out, 'splits', 'unlabelled.txt')) == ['Case_00007']
    proc = run([tool('dataset_converters/flare22.py'), release, out,
                '--validation-labels', 'nowhere'], check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        f"flare22.py: error: validation label folder "
        f"'{osp.join(release, 'nowhere')}' not found"
    ]
