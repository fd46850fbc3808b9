"""Generic dataset of videos stored as one folder of frames per video."""
import os.path as osp
from typing import List, Optional, Sequence

from mmvidseg.registry import DATASETS

from .base_video_dataset import IMG_EXTENSIONS, BaseVideoDataset


@DATASETS.register_module()
class VideoFolderDataset(BaseVideoDataset):
    """Videos as ``<data_root>/<img_path>/<video>/<frame>.<ext>`` folders.

    Labels (index PNGs) live at ``<data_root>/<seg_map_path>/<video>/<frame
    stem><seg_map_suffix>``; frames without one are unlabelled. Give class
    names through ``metainfo=dict(classes=[...], palette=[...])``.

    Args:
        img_suffix (str | Sequence[str]): Frame file extensions.
        seg_map_suffix (str): Label file suffix.
        videos (Sequence[str], optional): Subset of video folder names.
        **kwargs: See :class:`BaseVideoDataset`.
    """

    def __init__(self,
                 img_suffix: Sequence[str] = IMG_EXTENSIONS,
                 seg_map_suffix: str = '.png',
                 videos: Optional[Sequence[str]] = None,
                 **kwargs) -> None:
        self.videos = videos
        super().__init__(
            img_suffix=img_suffix, seg_map_suffix=seg_map_suffix, **kwargs)

    def load_video_table(self) -> List[dict]:
        img_root = self.data_prefix.get('img_path', '')
        seg_root = self.data_prefix.get('seg_map_path') or None
        if seg_root is not None and not osp.isdir(seg_root):
            raise FileNotFoundError(f'label folder {seg_root!r} not found')
        return self.scan_video_folders(img_root, seg_root, self.img_suffix,
                                       self.seg_map_suffix, self.videos)
