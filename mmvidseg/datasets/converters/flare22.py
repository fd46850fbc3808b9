"""FLARE22 release -> the nnU-Net style layout read by CTVolumeDataset.

Release folders (as the FLARE22 challenge distributed them and as the
method's ``tools/scripts/download_data.sh`` unpacks them):

* ``FLARE22_LabeledCase50/images/FLARE22_Tr_XXXX_0000.nii.gz`` and
  ``FLARE22_LabeledCase50/labels/FLARE22_Tr_XXXX.nii.gz`` (50 cases);
* ``FLARE22_UnlabeledCase<a>-<b>/Case_XXXXX_0000.nii.gz`` (2000 cases in
  several archives; the method used only cases 1751-2000);
* ``Validation/FLARETs_XXXX_0000.nii.gz`` (50 cases; labels published
  later as ``FLARETs_XXXX.nii.gz``).

Output under ``out_dir``: ``imagesTr/`` + ``labelsTr/`` (the labelled
cases), ``unlabelled/``, ``validation/`` (+ ``labelsVal/``), as symbolic
links to the release files (or copies), and the case lists
``splits/train.txt`` (the labelled cases except the validation ones: 45),
``splits/val.txt`` (the method's fixed cases 0009, 0012, 0013, 0025, 0035:
``tools/preprocess/split_train_val.py``, ``fixed_split``),
``splits/unlabelled.txt`` and ``splits/validation.txt`` (possibly empty).
Unlike the original, volumes are neither reoriented nor sliced here: the
dataset reads them in RAS+ orientation.
"""
import os
import os.path as osp
import re
import shutil
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np
from tqdm import tqdm

from mmvidseg.utils.io import atomic_path, atomic_write_bytes

from ..flare22_meta import FLARE22_FIXED_VAL_CASES

IMG_SUFFIX = '_0000.nii.gz'
LABEL_SUFFIX = '.nii.gz'
LABELLED_RE = re.compile(r'^(FLARE22_Tr_\d+)_0000\.nii\.gz$')
UNLABELLED_RE = re.compile(r'^(Case_(\d+))_0000\.nii\.gz$')
VALIDATION_RE = re.compile(r'^(FLARETs_\d+)_0000\.nii\.gz$')
#: Output folders.
OUT_DIRS = dict(images='imagesTr', labels='labelsTr', unlabelled='unlabelled',
                validation='validation', validation_labels='labelsVal',
                splits='splits')


def find_cases(folder: str, pattern: re.Pattern,
               what: str) -> Dict[str, str]:
    """``{case: path}`` of the image files in ``folder`` matching
    ``pattern`` (group 1 = case name).

    Raises:
        FileNotFoundError: ``folder`` is missing.
    """
    if not osp.isdir(folder):
        raise FileNotFoundError(f'{what} folder {folder!r} not found')
    found = {}
    for name in sorted(os.listdir(folder)):
        m = pattern.match(name)
        if m:
            found[m.group(1)] = osp.join(folder, name)
    return found


def find_labels(folder: str, cases: Iterable[str],
                what: str) -> Dict[str, str]:
    """``{case: folder/<case>.nii.gz}``; every case must have one and
    every label an image.

    Raises:
        FileNotFoundError: The folder or a case's label file is missing.
        ValueError: A label file has no image.
    """
    if not osp.isdir(folder):
        raise FileNotFoundError(f'{what} label folder {folder!r} not found')
    cases = list(cases)
    labels = {}
    for case in cases:
        path = osp.join(folder, case + LABEL_SUFFIX)
        if not osp.isfile(path):
            raise FileNotFoundError(f'{what} case {case!r} has no label '
                                    f'file {path!r}')
        labels[case] = path
    known = set(cases)
    extra = sorted(f for f in os.listdir(folder)
                   if f.endswith(LABEL_SUFFIX)
                   and f[:-len(LABEL_SUFFIX)] not in known)
    if extra:
        raise ValueError(f'label file {osp.join(folder, extra[0])!r} has no '
                         f'image ({len(extra)} such {what} label files)')
    return labels


def check_header_pair(img_path: str,
                      seg_path: str,
                      affine_atol: float = 1e-3) -> None:
    """Check that a label volume's header agrees with its image's.

    Compares the data shape exactly and the affines within ``affine_atol``
    (mm); reads the headers only.

    Raises:
        OSError: A file is not readable as NIfTI.
        ValueError: Shapes or affines differ (naming the label file).
    """
    import nibabel as nib
    heads = []
    for path in (img_path, seg_path):
        try:
            heads.append(nib.load(path))
        except Exception as e:  # ImageFileError, gzip errors, ...
            raise OSError(f'cannot read {path!r} as NIfTI: {e}') from e
    img, seg = heads
    if img.shape != seg.shape:
        raise ValueError(f'label {seg_path!r} has shape {seg.shape} but its '
                         f'image {img_path!r} has {img.shape}')
    diff = float(np.abs(img.affine - seg.affine).max())
    if diff > affine_atol:
        raise ValueError(f'label {seg_path!r}: affine differs from its image '
                         f'{img_path!r} by up to {diff:.4g} mm (tolerance '
                         f'{affine_atol})')


def place_file(src: str, dst: str, copy: bool = False) -> None:
    """Make ``dst`` a symbolic link to ``src`` (absolute) or a copy of it,
    atomically (an existing ``dst`` is replaced)."""
    src = osp.abspath(src)
    if copy:
        with atomic_path(dst, suffix='.nii.gz') as tmp:
            shutil.copyfile(src, tmp)
        return
    if osp.islink(dst) and os.readlink(dst) == src:
        return
    with atomic_path(dst, suffix='.nii.gz') as tmp:
        os.remove(tmp)
        os.symlink(src, tmp)


def write_split(path: str, cases: Sequence[str]) -> None:
    """Write one case name per line, atomically."""
    text = ''.join(f'{c}\n' for c in cases)
    atomic_write_bytes(path, text.encode())


def _resolve(root: str, path: Optional[str]) -> Optional[str]:
    if path is None:
        return None
    return path if osp.isabs(path) else osp.join(root, path)


def _default_unlabelled_dirs(root: str) -> List[str]:
    if not osp.isdir(root):
        return []
    return [
        osp.join(root, d) for d in sorted(os.listdir(root))
        if d.startswith('FLARE22_UnlabeledCase')
        and osp.isdir(osp.join(root, d))
    ]


def _unlabelled_cases(dirs: Sequence[str],
                      case_range: Optional[Tuple[int, int]]
                      ) -> Tuple[Dict[str, str], int]:
    cases, skipped = {}, 0
    for folder in dirs:
        for case, path in find_cases(folder, UNLABELLED_RE,
                                     'unlabelled').items():
            number = int(UNLABELLED_RE.match(osp.basename(path)).group(2))
            if case_range is not None and not (case_range[0] <= number
                                               <= case_range[1]):
                skipped += 1
                continue
            if case in cases:
                raise ValueError(f'unlabelled case {case!r} is in both '
                                 f'{cases[case]!r} and {path!r}')
            cases[case] = path
    return dict(sorted(cases.items())), skipped


def convert_flare22(root: str,
                    out_dir: str,
                    labelled_dir: str = 'FLARE22_LabeledCase50',
                    unlabelled_dirs: Optional[Sequence[str]] = None,
                    unlabelled_range: Optional[Tuple[int, int]] = (1751,
                                                                   2000),
                    validation_dir: Optional[str] = None,
                    validation_labels: Optional[str] = None,
                    val_cases: Sequence[str] = FLARE22_FIXED_VAL_CASES,
                    copy: bool = False,
                    affine_atol: float = 1e-3,
                    progress: bool = True) -> dict:
    """Lay out a FLARE22 release for :class:`CTVolumeDataset`.

    Args:
        root (str): Folder holding the release folders.
        out_dir (str): Output root (the configs' ``data_root``).
        labelled_dir (str): Labelled release folder (``images/`` +
            ``labels/``), relative to ``root`` unless absolute.
        unlabelled_dirs (Sequence[str], optional): Folders of
            ``Case_XXXXX_0000.nii.gz``; default every
            ``root/FLARE22_UnlabeledCase*`` folder (none is fine).
        unlabelled_range (tuple[int, int], optional): Keep unlabelled cases
            with numbers in this inclusive range (the method: 1751-2000);
            ``None`` keeps all.
        validation_dir (str, optional): Validation images folder; default
            ``root/Validation`` when it exists.
        validation_labels (str, optional): Folder of the validation labels
            ``FLARETs_XXXX.nii.gz`` (then every validation case needs one).
        val_cases (Sequence[str]): Labelled cases held out as ``val``.
        copy (bool): Copy the files instead of linking them.
        affine_atol (float): Largest image/label affine difference (mm).
        progress (bool): Show a progress bar.

    Returns:
        dict: Case counts per split (``train``, ``val``, ``unlabelled``,
        ``unlabelled_out_of_range``, ``validation``, ``validation_labels``),
        ``out_dir`` and ``mode`` (``'link'`` or ``'copy'``).

    Raises:
        FileNotFoundError: A release folder, or a case's label, is missing.
        ValueError: A validation case is not among the labelled cases, a
            label has no image, or a label's header disagrees with its
            image's (the message names the file).
    """
    lab_root = _resolve(root, labelled_dir)
    images = find_cases(osp.join(lab_root, 'images'), LABELLED_RE,
                        'labelled image')
    if not images:
        raise ValueError(f'no FLARE22_Tr_XXXX_0000.nii.gz image in '
                         f"{osp.join(lab_root, 'images')!r}")
    labels = find_labels(osp.join(lab_root, 'labels'), images, 'labelled')
    missing = [c for c in val_cases if c not in images]
    if missing:
        raise ValueError(f'validation cases {missing} are not among the '
                         f'{len(images)} labelled cases of {lab_root!r}')
    val = list(val_cases)
    train = [c for c in images if c not in set(val)]  # sorted by name

    dirs = (_default_unlabelled_dirs(root) if unlabelled_dirs is None else
            [_resolve(root, d) for d in unlabelled_dirs])
    unlabelled, out_of_range = _unlabelled_cases(dirs, unlabelled_range)

    vdir = _resolve(root, validation_dir or 'Validation')
    if validation_dir is None and not osp.isdir(vdir):
        validation = {}
    else:
        validation = find_cases(vdir, VALIDATION_RE, 'validation')
    val_labels = {}
    if validation_labels is not None:
        val_labels = find_labels(_resolve(root, validation_labels),
                                 validation, 'validation')

    out = {k: osp.join(out_dir, v) for k, v in OUT_DIRS.items()}
    for folder in out.values():
        os.makedirs(folder, exist_ok=True)
    jobs = []
    for case in images:
        jobs.append((images[case], osp.join(out['images'], case +
                                            IMG_SUFFIX), labels[case]))
        jobs.append((labels[case], osp.join(out['labels'],
                                            case + LABEL_SUFFIX), None))
    for case, path in unlabelled.items():
        jobs.append((path, osp.join(out['unlabelled'], case + IMG_SUFFIX),
                     None))
    for case, path in validation.items():
        jobs.append((path, osp.join(out['validation'], case + IMG_SUFFIX),
                     val_labels.get(case)))
    for case, path in val_labels.items():
        jobs.append((path, osp.join(out['validation_labels'],
                                    case + LABEL_SUFFIX), None))
    for src, dst, label in tqdm(jobs, disable=not progress, unit='file'):
        if label is not None:
            check_header_pair(src, label, affine_atol)
        place_file(src, dst, copy)

    write_split(osp.join(out['splits'], 'train.txt'), train)
    write_split(osp.join(out['splits'], 'val.txt'), val)
    write_split(osp.join(out['splits'], 'unlabelled.txt'), list(unlabelled))
    write_split(osp.join(out['splits'], 'validation.txt'), list(validation))
    return dict(train=len(train), val=len(val), unlabelled=len(unlabelled),
                unlabelled_out_of_range=out_of_range,
                validation=len(validation),
                validation_labels=len(val_labels), out_dir=out_dir,
                mode='copy' if copy else 'link')
