"""CT volumes (FLARE22 by default) as videos of axial slices."""
import os.path as osp
from typing import List, Optional

from mmvidseg.registry import DATASETS

from .flare22_meta import FLARE22_CLASSES, FLARE22_PALETTE
from .nifti_volume_dataset import NiftiVolumeDataset

CT_MODES = ('labelled', 'unlabelled', 'inference')


def read_split_file(path: str) -> List[str]:
    """Case names of a split file: one per line; blank lines and lines
    starting with ``#`` are skipped.

    Raises:
        FileNotFoundError: The file is missing.
        ValueError: It lists no case, or a case twice.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'split file {path!r} not found')
    with open(path) as f:
        cases = [line.strip() for line in f]
    cases = [c for c in cases if c and not c.startswith('#')]
    if not cases:
        raise ValueError(f'split file {path!r} lists no case')
    seen = set()
    for case in cases:
        if case in seen:
            raise ValueError(f'split file {path!r} lists case {case!r} '
                             'twice')
        seen.add(case)
    return cases


@DATASETS.register_module()
class CTVolumeDataset(NiftiVolumeDataset):
    """CT volumes in the nnU-Net layout, slices as frames.

    The layout written by ``tools/dataset_converters/flare22.py``:
    ``imagesTr/<case>_0000.nii.gz`` + ``labelsTr/<case>.nii.gz``,
    ``unlabelled/``, ``validation/`` (+ ``labelsVal/``) and
    ``splits/*.txt``. Volumes are read with nibabel in RAS+ orientation
    (no resampling: the voxel spacing is kept in the metainfo) and their
    axial slices are the frames (see :class:`BaseVolumeDataset`). Metainfo
    defaults to the 14 FLARE22 classes.

    Modes:

    * ``'labelled'`` (default when ``ann_dir`` is given): one item per
      slice of each labelled volume (``frames='labelled'``; pass
      ``frames='all'`` with ``test_mode=True`` to stream whole volumes for
      evaluation);
    * ``'unlabelled'`` (default without ``ann_dir``): one item per slice of
      each volume, no labels (``frames='all'``), e.g. the unlabelled stream
      of semi-supervised training;
    * ``'inference'``: as ``'unlabelled'`` with ``test_mode=True`` (whole
      volumes, slice by slice, with :class:`VideoSequentialSampler`).

    Besides the keys of :class:`BaseVolumeDataset` every item has
    ``slice_position`` = ``slice_index / num_slices`` (the original's
    ``sid / volume length``, in [0, 1)) and ``labelled`` (whether the slice
    has a label). Put both in the packing transform's ``meta_keys``.

    Args:
        split (str, optional): A text file of case names (one per line),
            relative to ``data_root`` unless absolute, e.g.
            ``'splits/train.txt'``; only those cases are used, in that order.
            Exclusive with ``cases``.
        mode (str, optional): ``'labelled'``, ``'unlabelled'`` or
            ``'inference'``; see above. Default from ``ann_dir``.
        **kwargs: See :class:`NiftiVolumeDataset` (``img_dir``, ``ann_dir``,
            ``img_suffix``, ``cases``, ``frames``, ``cache_dir``,
            ``pipeline``, ...).

    Raises:
        FileNotFoundError: The split file or a listed volume is missing.
        ValueError: ``mode`` disagrees with ``ann_dir``/``frames``, or the
            split file is empty; see also :class:`NiftiVolumeDataset`.
    """
    METAINFO = dict(classes=FLARE22_CLASSES,
                    palette=[list(c) for c in FLARE22_PALETTE])

    def __init__(self,
                 split: Optional[str] = None,
                 mode: Optional[str] = None,
                 **kwargs) -> None:
        with_labels = kwargs.get('ann_dir') is not None
        if mode is None:
            mode = 'labelled' if with_labels else 'unlabelled'
        if mode not in CT_MODES:
            raise ValueError(f'mode must be one of {CT_MODES}, got {mode!r}')
        if mode == 'labelled' and not with_labels:
            raise ValueError("mode='labelled' needs ann_dir (the label "
                             'folder)')
        if mode != 'labelled':
            if with_labels:
                raise ValueError(f'mode={mode!r} reads no labels; drop '
                                 f"ann_dir={kwargs['ann_dir']!r} or use "
                                 "mode='labelled'")
            if kwargs.get('frames', 'all') != 'all':
                raise ValueError(f"mode={mode!r} uses every slice "
                                 f"(frames='all'), got frames="
                                 f"{kwargs['frames']!r}")
            kwargs['frames'] = 'all'
        if mode == 'inference':
            if not kwargs.get('test_mode', True):
                raise ValueError("mode='inference' implies test_mode=True")
            kwargs['test_mode'] = True
        if split is not None and kwargs.get('cases') is not None:
            raise ValueError('give either split (a case list file) or '
                             'cases, not both')
        self.split = split
        self.mode = mode
        super().__init__(**kwargs)

    def split_path(self) -> Optional[str]:
        """The split file's path (joined to ``data_root``), or ``None``."""
        if self.split is None:
            return None
        if osp.isabs(self.split) or not self.data_root:
            return self.split
        return osp.join(self.data_root, self.split)

    def load_volume_list(self) -> List[dict]:
        if self.split is not None:
            self.cases = read_split_file(self.split_path())
        return super().load_volume_list()

    def get_data_info(self, idx: int) -> dict:
        info = super().get_data_info(idx)
        info['slice_position'] = info['slice_index'] / info['num_slices']
        info['labelled'] = info.get('seg_map_path') is not None
        return info
