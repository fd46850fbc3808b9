"""Deterministic synthetic FLARE22 cases for the DSC/NSD tests (no RNG)."""
import os

import numpy as np
from scipy import ndimage

#: shape and anisotropic spacing (mm) of the synthetic case
SHAPE = (40, 36, 20)
SPACING = (0.8, 1.2, 2.5)


def ellipsoid(center, radii, shape=SHAPE):
    """Bool mask of the voxels with ``sum(((x - c) / r) ** 2) <= 1``."""
    grid = np.ogrid[tuple(slice(0, n) for n in shape)]
    dist = sum(((g - c) / r)**2 for g, c, r in zip(grid, center, radii))
    return dist <= 1


def box(lo, hi, shape=SHAPE):
    """Bool mask of the voxels ``lo .. hi`` (inclusive) per axis."""
    mask = np.zeros(shape, bool)
    mask[tuple(slice(a, b + 1) for a, b in zip(lo, hi))] = True
    return mask


def synthetic_case():
    """(gt, pred) uint8 label volumes of shape :data:`SHAPE`, FLARE ids.

    Per organ: 1 liver shifted one voxel along axis 0; 2 right kidney
    eroded; 3 spleen identical; 4 pancreas missing from the prediction;
    5 aorta shifted along axis 1 and extended over every slice (outside
    the ground truth's slice range); 6 IVC shifted, other slice range;
    7 right adrenal gland barely overlapping (DSC < 0.2); 8 left adrenal
    gland absent from both; 9 gallbladder only predicted; 10 esophagus
    (every slice) dilated; 11 stomach with a regular pattern of holes;
    12 duodenum plus a far false-positive blob; 13 left kidney shifted one
    slice along axis 2.
    """
    organs_gt = {
        1: ellipsoid((12, 12, 10), (8, 7, 5)),
        2: ellipsoid((30, 10, 8), (4, 3, 3)),
        3: ellipsoid((30, 26, 12), (4, 5, 3)),
        4: ellipsoid((20, 28, 5), (6, 2, 2)),
        5: box((19, 18, 3), (21, 20, 15)),
        6: box((24, 14, 2), (26, 16, 12)),
        7: ellipsoid((34, 18, 15), (1.5, 1.5, 1)),
        10: box((10, 30, 0), (11, 31, 19)),
        11: ellipsoid((10, 26, 15), (5, 5, 3)),
        12: ellipsoid((22, 6, 14), (4, 2, 2)),
        13: ellipsoid((5, 5, 16), (3, 3, 2)),
    }
    gt = np.zeros(SHAPE, np.uint8)
    for organ, mask in organs_gt.items():
        gt[mask] = organ
    x, y, z = np.indices(SHAPE)
    holes = (x * 7 + y * 13 + z * 29) % 11 == 0
    organs_pred = {
        1: np.roll(gt == 1, 1, axis=0),
        2: ndimage.binary_erosion(gt == 2),
        3: gt == 3,
        5: box((19, 19, 0), (21, 21, 19)),
        6: box((24, 15, 5), (26, 17, 17)),
        7: ellipsoid((35, 19, 16), (1.5, 1.5, 1)),
        9: ellipsoid((6, 30, 4), (2, 2, 1)),
        10: box((9, 30, 1), (12, 32, 19)),
        11: (gt == 11) & ~holes,
        12: (gt == 12) | ellipsoid((36, 32, 2), (2, 2, 1)),
        13: np.roll(gt == 13, 1, axis=2),
    }
    pred = np.zeros(SHAPE, np.uint8)
    for organ, mask in organs_pred.items():
        pred[mask] = organ
    return gt, pred


def eroded_labels(labels):
    """Every organ of ``labels`` eroded once (scipy's default cross)."""
    out = np.zeros_like(labels)
    for organ in range(1, 14):
        out[ndimage.binary_erosion(labels == organ)] = organ
    return out


def write_volume(path, data, spacing=SPACING, dtype=np.uint8):
    """Write ``data`` as NIfTI with affine ``diag(spacing)``."""
    import nibabel as nib
    img = nib.Nifti1Image(data.astype(dtype), np.diag(list(spacing) + [1]))
    img.to_filename(str(path))


def make_flare_folders(root):
    """``root/gt`` and ``root/pred`` (``root`` a pathlib.Path) with the
    synthetic case, a perfect case (prediction stored as float32) and an
    extra prediction without ground truth; returns both folders."""
    gt, pred = synthetic_case()
    for side in ('gt', 'pred'):
        os.makedirs(root / side, exist_ok=True)
    write_volume(root / 'gt' / 'synth.nii.gz', gt)
    write_volume(root / 'pred' / 'synth.nii.gz', pred)
    write_volume(root / 'gt' / 'perfect.nii.gz', gt)
    write_volume(root / 'pred' / 'perfect.nii.gz', gt, dtype=np.float32)
    write_volume(root / 'pred' / 'extra.nii.gz', gt)  # ignored
    return str(root / 'gt'), str(root / 'pred')
