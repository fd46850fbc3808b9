"""Score results on disk with a per-video metric, videos in parallel."""
import copy
import json
import math
import multiprocessing
from functools import partial
from typing import Any, Dict, List, Tuple

from mmvidseg.evaluation.metrics import BaseVideoMetric
from mmvidseg.utils.io import atomic_write_bytes

from .base_folder_reader import BaseFolderReader


def _process_video(reader: BaseFolderReader, metric: BaseVideoMetric,
                   task: Tuple[str, List[str]]) -> List[dict]:
    """Worker: ``metric.process`` on every frame of one video.

    Returns:
        list[dict]: The per-frame results the metric stored.
    """
    video, frames = task
    metric = copy.copy(metric)
    metric.results = []
    for frame_id, frame in enumerate(frames):
        metric.process({}, [reader.load_frame(video, frame_id, frame)])
    return metric.results


def score_folder(reader: BaseFolderReader, nproc: int = 1) -> Dict[str, Any]:
    """Score every video a reader lists with its metric.

    Each video is processed whole by one worker (``nproc`` processes; 1:
    in this process), frame by frame with the metric's ``process``; the
    per-frame results of all videos then go through ``compute_metrics``
    once, so the numbers are those of the same metric in a test run.

    Args:
        reader (BaseFolderReader): Ground-truth and prediction folders.
        nproc (int): Worker processes.

    Returns:
        dict: ``metric``, ``options``, ``videos`` and ``frames`` (counts),
        ``overall`` (the metric's values) and the reader's
        :meth:`~BaseFolderReader.details`.
    """
    if nproc < 1:
        raise ValueError(f'nproc must be >= 1, got {nproc}')
    videos = reader.list_videos()
    metric = reader.build_metric()
    worker = partial(_process_video, reader, metric)
    tasks = list(videos.items())
    if nproc > 1 and len(tasks) > 1:
        with multiprocessing.Pool(min(nproc, len(tasks))) as pool:
            parts = pool.map(worker, tasks, chunksize=1)
    else:
        parts = [worker(task) for task in tasks]
    results = [res for part in parts for res in part]
    overall = metric.compute_metrics(results)
    return dict(metric=reader.name, options=reader.options,
                videos=len(videos),
                frames=sum(len(frames) for frames in videos.values()),
                overall=overall, **reader.details(metric, results))


def _json_safe(value: Any) -> Any:
    """Plain JSON values: numpy scalars to Python, NaN/inf to None."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if hasattr(value, 'item') and callable(value.item):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def report_to_json(report: Dict[str, Any]) -> str:
    """The report as strict JSON (non-finite values become ``null``)."""
    return json.dumps(_json_safe(report), indent=2, allow_nan=False)


def write_report(path: str, report: Dict[str, Any]) -> None:
    """Write :func:`report_to_json` to ``path`` atomically."""
    atomic_write_bytes(path, (report_to_json(report) + '\n').encode())
