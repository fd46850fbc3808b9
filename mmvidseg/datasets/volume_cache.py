"""Canonical NIfTI volumes converted once to ``.npy`` and memory-mapped."""
import hashlib
import json
import os
import os.path as osp
from collections import OrderedDict
from typing import Dict, Optional, Tuple

import numpy as np

from mmvidseg.utils.io import atomic_path, atomic_write_bytes

DEFAULT_VOLUME_CACHE = osp.join('~', '.cache', 'mmvidseg', 'volumes')
#: Bumped when the cached format or the canonicalisation changes.
CACHE_VERSION = 1
VOLUME_KINDS = ('image', 'label')


def volume_cache_dir(cache_dir: Optional[str] = None) -> str:
    """``cache_dir``, else ``$MMVIDSEG_CACHE_DIR``, else
    ``~/.cache/mmvidseg/volumes`` (user expanded, made absolute)."""
    return osp.abspath(
        osp.expanduser(cache_dir or os.environ.get('MMVIDSEG_CACHE_DIR')
                       or DEFAULT_VOLUME_CACHE))


def import_nibabel():
    """nibabel, or an ImportError saying how to install it."""
    try:
        import nibabel
    except ImportError as e:  # pragma: no cover - optional dependency
        raise ImportError('reading NIfTI volumes needs nibabel: pip install '
                          'nibabel (see requirements/optional.txt)') from e
    return nibabel


def _canonical_geometry(path: str, shape: Tuple[int, ...],
                        affine: np.ndarray) -> dict:
    """Shape, affine and spacing of the RAS+ canonical form of a volume.

    Computed from the header only, as ``nibabel.as_closest_canonical`` would
    reorient the data.
    """
    from nibabel.affines import voxel_sizes
    from nibabel.orientations import aff2axcodes, inv_ornt_aff, io_orientation
    if len(shape) != 3:
        raise ValueError(f'volume {path!r} has shape {tuple(shape)}; '
                         'expected a 3D volume')
    if min(shape) == 0:
        raise ValueError(f'volume {path!r} is empty (shape {tuple(shape)})')
    ornt = io_orientation(affine)
    canon_affine = affine.dot(inv_ornt_aff(ornt, shape))
    canon_shape = tuple(int(shape[i]) for i in np.argsort(ornt[:, 0]))
    return dict(shape=list(canon_shape),
                affine=canon_affine.tolist(),
                spacing=[float(s) for s in voxel_sizes(canon_affine)],
                source_shape=[int(s) for s in shape],
                source_orientation=''.join(c or '?'
                                           for c in aff2axcodes(affine)))


def as_label_ids(data: np.ndarray, path: str) -> np.ndarray:
    """Integer label ids in the smallest fitting dtype (uint8 when < 256)."""
    if data.dtype.kind == 'f':
        if not np.isfinite(data).all():
            raise ValueError(f'label volume {path!r} holds NaN/inf values')
        rounded = np.rint(data)
        if np.abs(data - rounded).max(initial=0) > 1e-3:
            raise ValueError(f'label volume {path!r} holds non-integer '
                             'values; expected class ids')
        data = rounded
    elif data.dtype.kind not in 'iub':
        raise ValueError(f'label volume {path!r} has dtype {data.dtype}; '
                         'expected integer class ids')
    lo, hi = (data.min(), data.max()) if data.size else (0, 0)
    if lo < 0:
        raise ValueError(f'label volume {path!r} holds negative ids ({lo})')
    for dtype in (np.uint8, np.uint16, np.int32):
        if hi <= np.iinfo(dtype).max:
            return data.astype(dtype, copy=False)
    raise ValueError(f'label volume {path!r} holds ids up to {hi}')


class VolumeCache:
    """Read NIfTI volumes in RAS+ orientation through an ``.npy`` cache.

    The first access to a volume decodes it with nibabel, reorients it with
    ``nibabel.as_closest_canonical`` and writes it to ``cache_dir`` as an
    ``.npy`` array of shape (S, H, W): the slices along ``slice_axis`` of the
    canonical volume come first, so reading a slice touches one contiguous
    block. Later accesses (in any process) open that file with
    ``np.load(mmap_mode='r')``. Geometry read from the header (canonical
    shape, affine and spacing) is cached beside it as JSON, so listing a
    dataset again does not open the NIfTI files either.

    Cache files are named after the volume's absolute path, size and
    modification time, its kind (image or label), ``slice_axis`` and the
    cache version: editing a volume makes a new entry (stale entries are not
    removed). Every file is written to a temporary name and renamed, so
    concurrent processes (dataloader workers, DDP ranks) may convert the same
    volume at the same time without ever reading a partial file.

    Images keep their stored integer dtype (e.g. int16 HU) and scaled or
    floating data become float32; labels become the smallest fitting
    unsigned integer type (uint8 for ids < 256).

    Args:
        cache_dir (str, optional): Cache folder; see :func:`volume_cache_dir`.
        slice_axis (int): Axis of the canonical (RAS+) volume whose slices
            are the frames: 0 sagittal, 1 coronal, 2 axial (default).
        max_open (int): Memory maps kept open per process (LRU).
    """

    def __init__(self,
                 cache_dir: Optional[str] = None,
                 slice_axis: int = 2,
                 max_open: int = 8) -> None:
        if slice_axis not in (0, 1, 2):
            raise ValueError(f'slice_axis must be 0, 1 or 2, got '
                             f'{slice_axis!r}')
        self.cache_dir = volume_cache_dir(cache_dir)
        self.slice_axis = int(slice_axis)
        self.max_open = max(int(max_open), 1)
        self._open: 'OrderedDict[str, np.ndarray]' = OrderedDict()
        self._meta: Dict[str, dict] = {}

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state['_open'] = OrderedDict()  # never pickle the mapped arrays
        state['_meta'] = {}
        return state

    def entry(self, path: str, kind: str = 'image') -> str:
        """Cache path of ``path`` without extension.

        Raises:
            FileNotFoundError: ``path`` does not exist.
        """
        if kind not in VOLUME_KINDS:
            raise ValueError(f'kind must be one of {VOLUME_KINDS}, got '
                             f'{kind!r}')
        path = osp.abspath(path)
        try:
            st = os.stat(path)
        except FileNotFoundError as e:
            raise FileNotFoundError(
                f'{kind} volume {path!r} does not exist') from e
        key = json.dumps([
            path, st.st_size, st.st_mtime_ns, kind, self.slice_axis, 'RAS+',
            CACHE_VERSION
        ])
        digest = hashlib.sha1(key.encode()).hexdigest()[:16]
        name = osp.basename(path)
        for ext in ('.nii.gz', '.nii'):
            if name.endswith(ext):
                name = name[:-len(ext)]
        return osp.join(self.cache_dir, f'{name}-{kind}-{digest}')

    def info(self, path: str, kind: str = 'image') -> dict:
        """Canonical geometry of a volume, from the header (cached).

        Returns:
            dict: ``shape`` (canonical, 3 ints), ``affine`` (4x4 ndarray),
            ``spacing`` (3 floats, mm, along the canonical axes),
            ``num_slices``, ``slice_shape`` (H, W), ``slice_spacing`` (mm
            between slices), ``inplane_spacing`` (mm along H and W),
            ``source_shape`` and ``source_orientation`` (e.g. ``'LPS'``).

        Raises:
            FileNotFoundError: The volume is missing.
            OSError: nibabel cannot read it.
            ValueError: It is not 3D, or has a zero-sized axis.
        """
        entry = self.entry(path, kind)
        info = self._meta.get(entry)
        if info is None:
            meta = self._read_meta(entry)
            if meta is None:
                nib = import_nibabel()
                img = self._nib_load(nib, path, kind)
                meta = _canonical_geometry(path, img.shape, img.affine)
                self._write_meta(entry, meta)
            info = self._meta[entry] = self._expand(meta)
        return dict(info, affine=info['affine'].copy())

    def load(self, path: str, kind: str = 'image') -> np.ndarray:
        """Read-only memory map of shape (S, H, W) of the canonical volume.

        Converts the volume on first use (see the class docstring).

        Raises:
            FileNotFoundError: The volume is missing.
            OSError: nibabel cannot read it.
            ValueError: It is not 3D, has a zero-sized axis, or (labels)
                holds negative or non-integer values.
        """
        entry = self.entry(path, kind)
        npy = entry + '.npy'
        arr = self._open.get(npy)
        if arr is not None:
            self._open.move_to_end(npy)
            return arr
        if not osp.isfile(npy):
            self._convert(path, kind, entry)
        arr = np.load(npy, mmap_mode='r')
        self._open[npy] = arr
        while len(self._open) > self.max_open:
            self._open.popitem(last=False)
        return arr

    # -- internals ---------------------------------------------------------
    @staticmethod
    def _nib_load(nib, path: str, kind: str):
        try:
            return nib.load(path)
        except FileNotFoundError as e:
            raise FileNotFoundError(
                f'{kind} volume {path!r} does not exist') from e
        except Exception as e:  # ImageFileError, gzip/zlib errors, ...
            raise OSError(f'cannot read {kind} volume {path!r} as NIfTI: '
                          f'{e}') from e

    def _expand(self, meta: dict) -> dict:
        out = dict(meta)
        out['affine'] = np.asarray(meta['affine'], dtype=np.float64)
        shape, spacing = meta['shape'], meta['spacing']
        inplane = [i for i in range(3) if i != self.slice_axis]
        out['shape'] = tuple(shape)
        out['spacing'] = tuple(spacing)
        out['num_slices'] = shape[self.slice_axis]
        out['slice_shape'] = tuple(shape[i] for i in inplane)
        out['slice_spacing'] = spacing[self.slice_axis]
        out['inplane_spacing'] = tuple(spacing[i] for i in inplane)
        return out

    @staticmethod
    def _read_meta(entry: str) -> Optional[dict]:
        try:
            with open(entry + '.json') as f:
                return json.load(f)
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    def _write_meta(self, entry: str, meta: dict) -> None:
        atomic_write_bytes(entry + '.json',
                           json.dumps(meta, indent=1).encode())

    def _convert(self, path: str, kind: str, entry: str) -> None:
        nib = import_nibabel()
        img = self._nib_load(nib, path, kind)
        meta = _canonical_geometry(path, img.shape, img.affine)
        canon = nib.as_closest_canonical(img)
        try:
            data = np.asanyarray(canon.dataobj)
        except Exception as e:  # truncated/corrupt data block
            raise OSError(f'cannot read the data of {kind} volume {path!r}: '
                          f'{e}') from e
        if list(data.shape) != meta['shape'] or not np.allclose(
                canon.affine, meta['affine']):
            raise RuntimeError(f'canonical geometry of {path!r} disagrees '
                               'with nibabel.as_closest_canonical')
        if kind == 'label':
            data = as_label_ids(data, path)
        elif data.dtype.kind == 'f' or data.dtype.itemsize > 4:
            data = data.astype(np.float32)
        data = np.ascontiguousarray(np.moveaxis(data, self.slice_axis, 0))
        with atomic_path(entry + '.npy') as tmp:
            with open(tmp, 'wb') as f:
                np.save(f, data)
                f.flush()
                os.fsync(f.fileno())
        if self._read_meta(entry) is None:
            self._write_meta(entry, meta)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(cache_dir={self.cache_dir!r}, '
                f'slice_axis={self.slice_axis})')


def pair_mismatch(img_info: Dict,
                  seg_info: Dict,
                  affine_atol: float = 1e-3) -> Optional[str]:
    """Why a label volume does not match its image, or ``None``.

    Compares the canonical shapes exactly and the canonical affines with an
    absolute tolerance (mm).
    """
    if tuple(img_info['shape']) != tuple(seg_info['shape']):
        return (f"shape {tuple(seg_info['shape'])} differs from the image's "
                f"{tuple(img_info['shape'])}")
    diff = np.abs(
        np.asarray(img_info['affine']) - np.asarray(seg_info['affine'])).max()
    if diff > affine_atol:
        return (f'affine differs from the image\'s by up to {diff:.4g} '
                f'(tolerance {affine_atol})')
    return None
