"""Base class of datasets of 3D volumes read as videos of slices."""
from typing import Dict, List, Optional

from .base_video_dataset import BaseVideoDataset
from .volume_cache import VolumeCache, pair_mismatch


class BaseVolumeDataset(BaseVideoDataset):
    """A video dataset whose videos are NIfTI volumes and frames are slices.

    Subclasses implement :meth:`load_volume_list`, which returns
    ``[dict(video_id, img_path, seg_map_path), ...]`` with one NIfTI image
    per volume and its label volume (``None`` when unlabelled). Volumes are
    used in RAS+ orientation (``nibabel.as_closest_canonical``); the frames
    of a volume are its slices along ``slice_axis`` of the canonical array
    (default 2: axial), with ``frame_id`` = slice index. A frame is the 2D
    array ``canonical[..., k]`` for ``slice_axis=2`` (rows along the first
    remaining canonical axis, columns along the second), not transposed.

    Only the headers are read when the dataset is built (canonical shape,
    affine and voxel spacing, cached as JSON); slices are read by
    :class:`LoadVolumeSlices` from an ``.npy`` copy of each canonical volume
    written once to ``cache_dir`` and memory-mapped afterwards (see
    :class:`VolumeCache`). The frame table lists the volume path once per
    slice (the same ``str`` object), so :class:`SampleClip` and every clip
    policy work unchanged: the clip's ``frame_ids`` are slice indices.

    Items: ``frames='labelled'`` (default) gives one item per slice of every
    labelled volume and leaves unlabelled volumes out; ``frames='all'`` gives
    one item per slice of every volume (the unlabelled stream of
    semi-supervised training, or inference). A label volume labels all its
    slices. Besides the keys of :class:`BaseVideoDataset`, every item carries
    the volume's metainfo: ``spacing`` (voxel size in mm along the canonical
    x, y, z axes), ``num_slices``, ``slice_index`` (= ``frame_id``),
    ``volume_shape`` (canonical), ``affine`` (canonical, 4x4),
    ``slice_axis`` and ``volume_cache_dir``.

    Two-stream (labelled + unlabelled) batches: use mmdet's
    ``MultiSourceSampler`` with mmengine's ``ConcatDataset`` and an
    ``IterBasedTrainLoop``; each batch then holds ``source_ratio`` items of
    each dataset, on every rank. The sampler's ``batch_size`` must equal the
    dataloader's::

        train_dataloader = dict(
            batch_size=4, num_workers=2, persistent_workers=True,
            sampler=dict(type='mmdet.MultiSourceSampler', batch_size=4,
                         source_ratio=[1, 3]),
            dataset=dict(type='ConcatDataset', datasets=[
                dict(type='NiftiVolumeDataset', data_root=root,
                     ann_dir='labelsTr', pipeline=labelled_pipeline),
                dict(type='NiftiVolumeDataset', data_root=root,
                     img_dir='unlabelled', frames='all',
                     pipeline=unlabelled_pipeline)]))

    Args:
        slice_axis (int): Canonical axis whose slices are frames (0 sagittal,
            1 coronal, 2 axial).
        cache_dir (str, optional): Volume cache folder; defaults to
            ``$MMVIDSEG_CACHE_DIR`` or ``~/.cache/mmvidseg/volumes``.
        affine_atol (float): Largest allowed difference (mm) between the
            canonical affines of an image and its label volume.
        **kwargs: See :class:`BaseVideoDataset`.

    Raises:
        FileNotFoundError: A listed volume is missing.
        OSError: A volume cannot be read as NIfTI.
        ValueError: A volume is not 3D or has a zero-sized axis, a label
            volume's shape or affine differs from its image's, or no volume
            gives items (e.g. only unlabelled volumes with
            ``frames='labelled'``).
    """

    def __init__(self,
                 slice_axis: int = 2,
                 cache_dir: Optional[str] = None,
                 affine_atol: float = 1e-3,
                 **kwargs) -> None:
        self.volume_cache = VolumeCache(cache_dir, slice_axis)
        self.slice_axis = self.volume_cache.slice_axis
        self.affine_atol = float(affine_atol)
        self.volume_info: Dict[str, dict] = {}
        super().__init__(**kwargs)

    def load_volume_list(self) -> List[dict]:
        """Return ``[dict(video_id, img_path, seg_map_path), ...]``.

        ``seg_map_path`` is the label volume or ``None`` if unlabelled.
        """
        raise NotImplementedError

    def load_video_table(self) -> List[dict]:
        self.volume_info = {}
        cache = self.volume_cache
        table = []
        num_volumes = 0
        for vol in self.load_volume_list():
            num_volumes += 1
            vid = str(vol['video_id'])
            img_path = vol['img_path']
            seg_path = vol.get('seg_map_path')
            if seg_path is None and self.frames == 'labelled':
                continue
            info = cache.info(img_path, 'image')
            if seg_path is not None:
                why = pair_mismatch(info, cache.info(seg_path, 'label'),
                                    self.affine_atol)
                if why is not None:
                    raise ValueError(f'label volume {seg_path!r} does not '
                                     f'match image {img_path!r}: {why}')
            num = info['num_slices']
            self.volume_info[vid] = dict(spacing=info['spacing'],
                                         num_slices=num,
                                         volume_shape=info['shape'],
                                         affine=info['affine'],
                                         slice_axis=self.slice_axis,
                                         volume_cache_dir=cache.cache_dir)
            table.append(
                dict(video_id=vid,
                     img_paths=[img_path] * num,
                     seg_map_paths=None if seg_path is None else [seg_path] *
                     num,
                     source=img_path))
        if not table:
            hint = (f"; the {num_volumes} volumes found are unlabelled, use "
                    "frames='all' for them" if num_volumes else '')
            raise ValueError(f'{type(self).__name__}: no volumes to use under '
                             f'{self.data_root!r} ({self.data_prefix}, '
                             f'frames={self.frames!r}){hint}')
        return table

    def get_data_info(self, idx: int) -> dict:
        info = super().get_data_info(idx)
        vol = self.volume_info[info['video_id']]
        info.update(vol)
        info['affine'] = vol['affine'].copy()
        info['slice_index'] = info['frame_id']
        return info
