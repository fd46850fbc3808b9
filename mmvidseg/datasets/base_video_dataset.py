"""Base class of the video segmentation datasets."""
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

from mmseg.datasets import BaseSegDataset

IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff')


class BaseVideoDataset(BaseSegDataset):
    """A segmentation dataset whose samples are frames of videos.

    Subclasses implement :meth:`load_video_table`, which lists every video
    once with the paths of all its frames (and labels, ``None`` for unlabelled
    frames). The dataset keeps this table once (``self.video_table``) and its
    data list holds one small item per frame to supervise or predict, with
    ``video_id`` and ``frame_id`` (index in the video). The frame list is
    attached to an item by reference in :meth:`get_data_info`, so that a
    clip-sampling transform (:class:`SampleClip`) can pick reference frames.

    Optional table columns (see :meth:`load_video_table`) serve datasets
    whose labelled frames also exist as separate images and whose frames are
    numbered (CamVid / Cityscapes as TMANet reads them): ``frame_numbers``
    lets a policy pick reference frames by number, ``key_img_paths`` is the
    image read for a frame when it is the key frame of a clip (the labelled
    image), while its entry in ``img_paths`` (the video frame) is read when
    it serves as a reference frame.

    Args:
        frames (str): Which frames become items: ``'labelled'`` (default for
            training) or ``'all'`` (streaming inference over whole videos).
        **kwargs: Passed to :class:`mmseg.datasets.BaseSegDataset`.
    """
    METAINFO: dict = dict()

    def __init__(self, frames: str = 'labelled', **kwargs) -> None:
        if frames not in ('labelled', 'all'):
            raise ValueError(
                f"frames must be 'labelled' or 'all', got {frames!r}")
        self.frames = frames
        self.video_table: Dict[str, dict] = {}
        super().__init__(**kwargs)

    def load_video_table(self) -> List[dict]:
        """Return ``[dict(video_id, img_paths, seg_map_paths), ...]``.

        ``seg_map_paths`` has one entry per frame (``None`` if unlabelled) or
        is ``None`` when the dataset has no labels at all. Optional keys:

        * ``frame_numbers``: the number of each frame (strictly increasing;
          gaps are frames missing from the video);
        * ``key_img_paths``: per frame, the image to read when the frame is
          the key frame of a clip (``None``: its ``img_paths`` entry); also
          the item's ``img_path``;
        * ``frame_path_fmt``: ``str.format`` pattern of the path of frame
          number ``n`` (names a missing frame in errors);
        * ``source``: where the video was found, for error messages.
        """
        raise NotImplementedError

    @staticmethod
    def _check_columns(vid: str, video: dict, num: int) -> dict:
        """The optional table columns of ``video`` that are set, checked."""
        nums = video.get('frame_numbers')
        keys = video.get('key_img_paths')
        if nums is not None:
            nums = [int(n) for n in nums]
            if len(nums) != num:
                raise ValueError(f'video {vid!r}: {num} frames but '
                                 f'{len(nums)} frame numbers')
            bad = [i for i in range(1, num) if nums[i] <= nums[i - 1]]
            if bad:
                raise ValueError(
                    f'video {vid!r}: frame numbers must increase, got '
                    f'{nums[bad[0] - 1]} then {nums[bad[0]]}')
        if keys is not None:
            keys = list(keys)
            if len(keys) != num:
                raise ValueError(f'video {vid!r}: {num} frames but '
                                 f'{len(keys)} key images')
        extra = dict(
            frame_numbers=nums,
            key_img_paths=keys,
            frame_path_fmt=video.get('frame_path_fmt'))
        return {k: v for k, v in extra.items() if v is not None}

    def load_data_list(self) -> List[dict]:
        self.video_table = {}
        data_list = []
        for video in self.load_video_table():
            vid = str(video['video_id'])
            imgs = list(video['img_paths'])
            segs = video.get('seg_map_paths')
            if not imgs:
                raise ValueError(
                    f'video {vid!r} has no frames '
                    f"({video.get('source', 'no source given')})")
            if segs is not None and len(segs) != len(imgs):
                raise ValueError(
                    f'video {vid!r}: {len(imgs)} frames but {len(segs)} '
                    'label entries')
            if vid in self.video_table:
                raise ValueError(f'duplicate video id {vid!r}')
            extra = self._check_columns(vid, video, len(imgs))
            self.video_table[vid] = dict(
                img_paths=imgs, seg_map_paths=segs, **extra)
            keys = extra.get('key_img_paths')
            for fid, img in enumerate(imgs):
                seg = segs[fid] if segs is not None else None
                if keys is not None and keys[fid] is not None:
                    img = keys[fid]
                if self.frames == 'labelled' and segs is not None \
                        and seg is None:
                    continue
                data_list.append(
                    dict(
                        video_id=vid,
                        frame_id=fid,
                        img_path=img,
                        seg_map_path=seg,
                        label_map=self.label_map,
                        reduce_zero_label=self.reduce_zero_label,
                        seg_fields=[]))
        if not data_list:
            raise ValueError(
                f'{type(self).__name__}: no frames found under '
                f'{self.data_root!r} ({self.data_prefix})')
        return data_list

    def get_data_info(self, idx: int) -> dict:
        info = super().get_data_info(idx)
        table = self.video_table[info['video_id']]
        info['video_img_paths'] = table['img_paths']
        info['video_seg_map_paths'] = table['seg_map_paths']
        for key in ('frame_numbers', 'key_img_paths', 'frame_path_fmt'):
            if table.get(key) is not None:
                info[f'video_{key}'] = table[key]
        return info

    def video_indices(self) -> Dict[str, List[int]]:
        """Dataset indices of each video's items, in frame order."""
        groups: Dict[str, List[int]] = {}
        for idx in range(len(self)):
            info = super().get_data_info(idx)
            groups.setdefault(info['video_id'], []).append(
                (info['frame_id'], idx))
        return {k: [i for _, i in sorted(v)] for k, v in groups.items()}

    @staticmethod
    def scan_video_folders(img_root: str,
                           seg_root: Optional[str] = None,
                           img_suffix: Sequence[str] = IMG_EXTENSIONS,
                           seg_suffix: str = '.png',
                           videos: Optional[Sequence[str]] = None
                           ) -> List[dict]:
        """List ``img_root/<video>/<frame>`` folders as a video table.

        Labels are looked up as ``seg_root/<video>/<frame stem><seg_suffix>``;
        frames without a label file are unlabelled. Frames are sorted by
        file name.

        Raises:
            FileNotFoundError: ``img_root`` or a requested video is missing.
            ValueError: A video folder holds no frame.
        """
        if not osp.isdir(img_root):
            raise FileNotFoundError(f'frame folder {img_root!r} not found')
        if isinstance(img_suffix, str):
            img_suffix = (img_suffix, )
        names = sorted(videos) if videos is not None else sorted(
            d for d in os.listdir(img_root)
            if osp.isdir(osp.join(img_root, d)))
        table = []
        for name in names:
            vdir = osp.join(img_root, name)
            if not osp.isdir(vdir):
                raise FileNotFoundError(f'video folder {vdir!r} not found')
            frames = sorted(f for f in os.listdir(vdir)
                            if f.lower().endswith(tuple(img_suffix)))
            if not frames:
                raise ValueError(f'video folder {vdir!r} holds no frames '
                                 f'with suffix {tuple(img_suffix)}')
            segs = None
            if seg_root is not None:
                segs = []
                for f in frames:
                    p = osp.join(seg_root, name,
                                 osp.splitext(f)[0] + seg_suffix)
                    segs.append(p if osp.isfile(p) else None)
            table.append(
                dict(
                    video_id=name,
                    img_paths=[osp.join(vdir, f) for f in frames],
                    seg_map_paths=segs,
                    source=vdir))
        return table
