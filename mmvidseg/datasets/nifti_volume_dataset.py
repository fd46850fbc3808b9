"""NIfTI volumes in the nnU-Net / FLARE folder layout."""
import os
import os.path as osp
from typing import List, Optional, Sequence

from mmvidseg.registry import DATASETS

from .base_volume_dataset import BaseVolumeDataset


@DATASETS.register_module()
class NiftiVolumeDataset(BaseVolumeDataset):
    """Volumes as ``<data_root>/<img_dir>/<case><img_suffix>`` NIfTI files.

    The nnU-Net raw-data layout used by FLARE22: images
    ``imagesTr/<case>_0000.nii.gz`` and labels ``labelsTr/<case>.nii.gz``.
    The case name is the file name without ``img_suffix`` and is the
    ``video_id``. Without ``ann_dir`` every volume is unlabelled (use
    ``frames='all'``); with it every case must have a label file. Give class
    names through ``metainfo=dict(classes=[...], palette=[...])``.

    Args:
        img_dir (str): Image folder, relative to ``data_root``.
        ann_dir (str, optional): Label folder, relative to ``data_root``.
        img_suffix (str): Image file name suffix.
        seg_map_suffix (str): Label file name suffix.
        cases (Sequence[str], optional): Case names to use (in this order)
            instead of every image in ``img_dir``.
        **kwargs: See :class:`BaseVolumeDataset` (``slice_axis``,
            ``frames``, ``cache_dir``, ``pipeline``, ...). ``data_prefix`` is
            set from ``img_dir`` / ``ann_dir``.

    Raises:
        FileNotFoundError: A folder, a listed case's image or a label file is
            missing.
        ValueError: ``img_dir`` holds no file with ``img_suffix``; see also
            :class:`BaseVolumeDataset`.
    """

    def __init__(self,
                 img_dir: str = 'imagesTr',
                 ann_dir: Optional[str] = None,
                 img_suffix: str = '_0000.nii.gz',
                 seg_map_suffix: str = '.nii.gz',
                 cases: Optional[Sequence[str]] = None,
                 **kwargs) -> None:
        if 'data_prefix' in kwargs:
            raise TypeError('NiftiVolumeDataset takes img_dir/ann_dir, not '
                            'data_prefix')
        self.with_labels = ann_dir is not None
        self.cases = None if cases is None else [str(c) for c in cases]
        super().__init__(img_suffix=img_suffix,
                         seg_map_suffix=seg_map_suffix,
                         data_prefix=dict(img_path=img_dir,
                                          seg_map_path=ann_dir or ''),
                         **kwargs)

    def load_volume_list(self) -> List[dict]:
        img_root = self.data_prefix['img_path']
        seg_root = self.data_prefix['seg_map_path'] \
            if self.with_labels else None
        for root, what in ((img_root, 'image'), (seg_root, 'label')):
            if root is not None and not osp.isdir(root):
                raise FileNotFoundError(f'{what} folder {root!r} not found')
        if self.cases is None:
            cases = sorted(f[:-len(self.img_suffix)]
                           for f in os.listdir(img_root)
                           if f.endswith(self.img_suffix)
                           and len(f) > len(self.img_suffix))
            if not cases:
                raise ValueError(f'image folder {img_root!r} holds no file '
                                 f'ending with {self.img_suffix!r}')
        else:
            cases = self.cases
        volumes = []
        for case in cases:
            img = osp.join(img_root, case + self.img_suffix)
            if not osp.isfile(img):
                raise FileNotFoundError(f'image volume {img!r} of case '
                                        f'{case!r} not found')
            seg = None
            if seg_root is not None:
                seg = osp.join(seg_root, case + self.seg_map_suffix)
                if not osp.isfile(seg):
                    raise FileNotFoundError(f'label volume {seg!r} of case '
                                            f'{case!r} not found')
            volumes.append(dict(video_id=case, img_path=img, seg_map_path=seg))
        return volumes
