"""The shared TotalSegmentator CT as a tiny FLARE22 release (test helper)."""
import os
import os.path as osp
import shutil

import numpy as np

from mmvidseg.datasets.flare22_meta import TOTALSEG_TO_FLARE22, remap_labels

CT_NAME = 'example_ct_sm.nii.gz'
SEG_NAME = 'example_seg.nii.gz'


def totalseg_paths(shared_data):
    """(image, TotalSegmentator label) paths of the shared CT."""
    root = osp.join(shared_data, 'totalseg_ct')
    return osp.join(root, CT_NAME), osp.join(root, SEG_NAME)


def flare_label_volume(shared_data):
    """(labels (122, 101, 30) uint8 with FLARE22 ids, nibabel image)."""
    import nibabel as nib
    seg = nib.load(totalseg_paths(shared_data)[1])
    return remap_labels(np.asarray(seg.dataobj), TOTALSEG_TO_FLARE22), seg


def make_flare_layout(root, shared_data, cases=('FLARE22_Tr_0001', ),
                      unlabelled=('Case_00001', )):
    """nnU-Net layout under ``root`` built from the shared CT.

    ``imagesTr/<case>_0000.nii.gz`` (a copy of the CT) and
    ``labelsTr/<case>.nii.gz`` (labels mapped to FLARE22 ids, same header)
    for every labelled case; ``unlabelled/<case>_0000.nii.gz`` for the
    unlabelled ones. Returns ``root`` as a str.
    """
    import nibabel as nib
    img_path, _ = totalseg_paths(shared_data)
    labels, seg = flare_label_volume(shared_data)
    for sub in ('imagesTr', 'labelsTr', 'unlabelled'):
        os.makedirs(osp.join(root, sub), exist_ok=True)
    for case in cases:
        shutil.copyfile(img_path,
                        osp.join(root, 'imagesTr', f'{case}_0000.nii.gz'))
        out = nib.Nifti1Image(labels, seg.affine, seg.header)
        out.set_data_dtype(np.uint8)
        out.to_filename(osp.join(root, 'labelsTr', f'{case}.nii.gz'))
    for case in unlabelled:
        shutil.copyfile(img_path,
                        osp.join(root, 'unlabelled', f'{case}_0000.nii.gz'))
    return str(root)
