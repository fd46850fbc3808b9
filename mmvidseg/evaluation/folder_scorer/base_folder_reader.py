"""How a metric reads results on disk: the folder-reader registry."""
import argparse
import os.path as osp
from abc import ABCMeta, abstractmethod
from typing import Any, Callable, Dict, List, Type

from mmvidseg.evaluation.metrics import BaseVideoMetric

#: metric name (``score_folder.py METRIC``) -> reader class
FOLDER_READERS: Dict[str, Type['BaseFolderReader']] = {}


def register_folder_reader(
        name: str) -> Callable[[Type['BaseFolderReader']],
                               Type['BaseFolderReader']]:
    """Class decorator: make a reader available as metric ``name``."""

    def register(cls: Type['BaseFolderReader']) -> Type['BaseFolderReader']:
        if name in FOLDER_READERS:
            raise KeyError(f'folder reader {name!r} is already registered '
                           f'({FOLDER_READERS[name].__name__})')
        cls.name = name
        FOLDER_READERS[name] = cls
        return cls

    return register


class BaseFolderReader(metaclass=ABCMeta):
    """Lists the videos of a ground-truth and a prediction folder and turns
    each frame into a data sample of a per-video metric.

    Instances are pickled to worker processes: keep their state to plain
    values (paths, options).

    Args:
        gt_dir (str): Ground-truth folder (layout defined by the subclass).
        pred_dir (str): Prediction folder.
    """

    #: set by :func:`register_folder_reader`
    name: str = ''

    def __init__(self, gt_dir: str, pred_dir: str) -> None:
        for what, path in (('ground-truth', gt_dir), ('prediction', pred_dir)):
            if not osp.isdir(path):
                raise FileNotFoundError(f'{what} folder {path} not found')
        self.gt_dir = gt_dir
        self.pred_dir = pred_dir

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        """Add the metric's command-line options (none by default)."""

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> 'BaseFolderReader':
        """Build from parsed arguments (``gt``, ``pred`` and the options)."""
        return cls(args.gt, args.pred)

    @property
    def options(self) -> Dict[str, Any]:
        """Settings that change the scores (written into the report)."""
        return {}

    @abstractmethod
    def list_videos(self) -> Dict[str, List[str]]:
        """The videos to score and their frames, on both sides.

        Returns:
            dict[str, list[str]]: Video -> frame names in frame order (the
            position is the ``frame_id``).

        Raises:
            FileNotFoundError: A video or a frame is missing on either side.
        """

    @abstractmethod
    def build_metric(self) -> BaseVideoMetric:
        """A new metric with the reader's options."""

    @abstractmethod
    def load_frame(self, video: str, frame_id: int, frame: str) -> dict:
        """One data sample of the metric's ``process`` for a frame.

        Args:
            video (str): Video name.
            frame_id (int): Position of the frame in the video.
            frame (str): Frame name from :meth:`list_videos`.

        Returns:
            dict: ``video_id``, ``frame_id`` and the fields the metric reads.
        """

    def details(self, metric: BaseVideoMetric,
                results: List[dict]) -> Dict[str, Any]:
        """Per-video (or per-object) tables added to the report."""
        return {}
