"""NIfTI in and out of volume inference: canonical (RAS+) slices, labels
written back in the input's own orientation and geometry."""
import os
import os.path as osp
from typing import List, Tuple

import numpy as np

from mmvidseg.datasets.volume_cache import import_nibabel
from mmvidseg.utils.io import atomic_path

NIFTI_SUFFIXES = ('.nii.gz', '.nii')


def list_volumes(path: str) -> List[str]:
    """``path`` itself (a NIfTI file) or the NIfTI files of a folder, sorted.

    Raises:
        FileNotFoundError: ``path`` does not exist, or a folder without
            ``.nii``/``.nii.gz`` files.
        ValueError: A file that is not named ``*.nii`` / ``*.nii.gz``.
    """
    if osp.isdir(path):
        files = sorted(
            osp.join(path, f) for f in os.listdir(path)
            if f.endswith(NIFTI_SUFFIXES) and not f.startswith('.'))
        if not files:
            raise FileNotFoundError(f'no .nii/.nii.gz volume in folder '
                                    f'{path!r}')
        return files
    if not osp.exists(path):
        raise FileNotFoundError(f'input volume {path!r} does not exist')
    if not path.endswith(NIFTI_SUFFIXES):
        raise ValueError(f'input {path!r} is not a NIfTI volume (.nii or '
                         '.nii.gz)')
    return [path]


def read_canonical(path: str) -> Tuple[np.ndarray, object]:
    """Read a 3D volume in RAS+ orientation (``as_closest_canonical``).

    Returns:
        tuple: The canonical data (X, Y, Z) (stored dtype, or float32 when
        the header scales it) and the nibabel image as stored (its affine
        and header are those of the output).

    Raises:
        FileNotFoundError: No such file.
        OSError: nibabel cannot read it.
        ValueError: Not a 3D volume, or an empty one.
    """
    nib = import_nibabel()
    if not osp.isfile(path):
        raise FileNotFoundError(f'input volume {path!r} does not exist')
    try:
        img = nib.load(path)
    except Exception as e:  # nibabel raises several error types
        raise OSError(f'cannot read {path!r} as NIfTI: {e}') from e
    if len(img.shape) != 3 or min(img.shape) == 0:
        raise ValueError(f'volume {path!r} has shape {tuple(img.shape)}; '
                         'expected a non-empty 3D volume')
    canon = nib.as_closest_canonical(img)
    data = np.asanyarray(canon.dataobj)
    if data.dtype.kind == 'f' and data.dtype != np.float32:
        data = data.astype(np.float32)
    return data, img


def from_canonical(labels: np.ndarray, img) -> np.ndarray:
    """Undo ``as_closest_canonical``: canonical labels -> stored axes.

    Args:
        labels (np.ndarray): (X, Y, Z) in the canonical orientation of
            ``img``.
        img: The nibabel image as stored.

    Returns:
        np.ndarray: The labels in the stored orientation (``img.shape``).
    """
    from nibabel.orientations import (apply_orientation, axcodes2ornt,
                                      io_orientation, ornt_transform)
    back = ornt_transform(axcodes2ornt(('R', 'A', 'S')),
                          io_orientation(img.affine))
    out = apply_orientation(labels, back)
    if tuple(out.shape) != tuple(img.shape):  # pragma: no cover - sanity
        raise RuntimeError(f'reoriented labels {out.shape} do not match '
                           f'the input {img.shape}')
    return np.ascontiguousarray(out)


def write_labels_like(labels: np.ndarray, img, path: str) -> None:
    """Write uint8 labels (stored orientation) with ``img``'s geometry.

    The affine, qform/sform (with their codes), zooms and the rest of the
    header are the input's; the data type is uint8 without scaling. The
    file is written atomically.

    Raises:
        ValueError: Labels of another shape than ``img`` or outside 0..255.
    """
    labels = np.asarray(labels)
    if tuple(labels.shape) != tuple(img.shape):
        raise ValueError(f'labels of shape {labels.shape} for a volume of '
                         f'shape {img.shape} ({path!r})')
    if labels.size and (labels.min() < 0 or labels.max() > 255):
        raise ValueError(f'label ids outside 0..255 cannot be written as '
                         f'uint8 ({path!r})')
    header = img.header.copy()
    header.set_data_dtype(np.uint8)
    # the image class keeps the header's qform/sform codes and resets the
    # scaling (slope/intercept) of the input
    out = type(img)(labels.astype(np.uint8), img.affine, header)
    suffix = '.nii.gz' if path.endswith('.nii.gz') else osp.splitext(
        path)[1]
    with atomic_path(path, suffix=suffix) as tmp:
        out.to_filename(tmp)
