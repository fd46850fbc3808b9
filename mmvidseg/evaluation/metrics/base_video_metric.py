"""Per-video metric base: results gathered whole from ranks of any size."""
import logging
from abc import abstractmethod
from collections import defaultdict
from typing import Any, Dict, Iterator, List, Optional, Sequence

import numpy as np
from mmengine.dist import (all_gather_object, broadcast_object_list,
                           get_world_size, is_main_process)
from mmengine.evaluator import BaseMetric
# ``_to_cpu`` is private in mmengine 0.10.x (mmengine/evaluator/metric.py)
# but is what ``BaseMetric.evaluate`` itself uses to move results to CPU.
from mmengine.evaluator.metric import _to_cpu
from mmengine.logging import print_log
from mmengine.structures import BaseDataElement


def id_map(field: Any, name: str) -> np.ndarray:
    """(H, W) int64 ids of a data-sample field ``{'data': (1, H, W)}``
    (tensor or array; a PixelData too).

    Raises:
        ValueError: Not a (1, H, W) or (H, W) map; the message names it.
    """
    data = field['data'] if isinstance(field, dict) else field.data
    if hasattr(data, 'detach'):
        data = data.detach().cpu().numpy()
    data = np.asarray(data)
    if data.ndim == 3 and data.shape[0] == 1:
        data = data[0]
    if data.ndim != 2:
        raise ValueError(f'{name} must be a (1, H, W) or (H, W) id map, got '
                         f'shape {data.shape}')
    return data.astype(np.int64)


def all_gather_results(results: list) -> list:
    """The results of every rank, concatenated in rank order, on every rank.

    mmengine 0.10.x ``collect_results`` (used by ``BaseMetric.evaluate``, on
    'cpu' and on 'gpu') interleaves the ranks' parts with ``zip_longest`` and
    truncates the list to the dataset size: it assumes that every rank
    processed the same number of samples, as mmengine's padded
    ``DefaultSampler`` arranges. Streaming evaluation gives whole videos to
    ranks (``VideoSequentialSampler``), so counts differ and that order and
    truncation would drop or misplace results. ``mmengine.dist.
    all_gather_object`` (mmengine 0.10.x: ``[results]`` when not distributed,
    else torch's ``all_gather_object``, which on NCCL needs the
    ``torch.cuda.set_device`` of each rank that mmengine's launcher does)
    gathers lists of any length; results are moved to CPU first so that no
    rank unpickles another rank's CUDA tensors.

    Args:
        results (list): This rank's results.

    Returns:
        list: All ranks' results, rank 0's first; nothing dropped or
        repeated.
    """
    local = _to_cpu(list(results))
    if get_world_size() == 1:
        return local
    return [r for part in all_gather_object(local) for r in part]


def gather_and_evaluate(metric: BaseMetric) -> dict:
    """``BaseMetric.evaluate`` with :func:`all_gather_results`.

    The results of all ranks are computed once on the main process with
    ``metric.compute_metrics``, the names get the metric's prefix and the
    values are broadcast to every rank; the results are cleared. If the
    computation fails on the main process the error is raised on every rank
    (instead of leaving the others waiting for the broadcast).

    Args:
        metric (BaseMetric): Any mmengine metric (per-video or not).

    Returns:
        dict: Metric name (with ``prefix/``) -> value, on every rank.
    """
    results = all_gather_results(metric.results)
    metric.results.clear()
    outcome: List[Any] = [None]
    error: Optional[Exception] = None
    if is_main_process():
        if not results:
            print_log(
                f'{type(metric).__name__} got no results from any rank; '
                'make sure that `process` stores them in `self.results`',
                logger='current', level=logging.WARNING)
        try:
            values = metric.compute_metrics(results)
            if metric.prefix:
                values = {f'{metric.prefix}/{k}': v
                          for k, v in values.items()}
            outcome = [(True, values)]
        except Exception as exc:  # re-raised below, on every rank
            error = exc
            outcome = [(False, f'{type(exc).__name__}: {exc}')]
    broadcast_object_list(outcome)
    if error is not None:
        raise error
    ok, value = outcome[0]
    if not ok:
        raise RuntimeError(f'{type(metric).__name__} failed on the main '
                           f'process: {value}')
    return value


class BaseVideoMetric(BaseMetric):
    """Base of metrics computed per video from frame-wise results.

    :meth:`process` of a subclass stores one dict per frame in
    ``self.results`` with at least ``video_id`` and ``frame_id`` (the index
    of the frame in its video). :meth:`evaluate` gathers the results of all
    ranks whatever their counts (:func:`all_gather_results`; ranks may hold
    different numbers of videos and frames), computes on the main process and
    broadcasts, as mmengine's ``BaseMetric.evaluate`` otherwise does.
    :meth:`compute_metrics` groups the results per video, orders each
    video's frames by ``frame_id`` and drops repeated frames (the padding of
    mmengine's ``DefaultSampler``, which repeats samples to even out ranks)
    before :meth:`compute_video_metrics`; a subclass setting
    ``drop_duplicate_frames = False`` gets an error instead.

    ``collect_device`` and ``collect_dir`` are accepted for config
    compatibility; gathering always goes through the process group's
    ``all_gather_object``.
    """

    #: drop repeated (video_id, frame_id) results; False: raise ValueError
    drop_duplicate_frames: bool = True

    def frame_samples(self, data_samples: Sequence[Any],
                      required: Sequence[str],
                      hint: str = '') -> Iterator[dict]:
        """The data samples of a batch as dicts, each checked to hold the
        ``required`` keys (``video_id`` and ``frame_id`` come from the
        metainfo).

        Raises:
            KeyError: A sample lacks a key; the message names it, ``hint``
                (what the test pipeline must provide) and the keys present.
        """
        for sample in data_samples:
            if isinstance(sample, BaseDataElement):
                sample = sample.to_dict()
            for key in required:
                if key not in sample:
                    raise KeyError(
                        f'{type(self).__name__} needs {key!r} in every data '
                        f'sample{f" ({hint})" if hint else ""}, got keys '
                        f'{sorted(sample)}')
            yield sample

    def evaluate(self, size: Optional[int] = None) -> dict:
        """Gather all ranks' results, compute once, broadcast.

        Args:
            size (int, optional): Dataset length, accepted for mmengine's
                interface and not used: results are never truncated.

        Returns:
            dict: Metric name (with ``prefix/``) -> value, on every rank.
        """
        return gather_and_evaluate(self)

    def group_videos(self, results: List[dict]) -> Dict[Any, List[dict]]:
        """Results per video, videos sorted by id, frames by ``frame_id``.

        Args:
            results (list[dict]): Frame results of all ranks, any order.

        Returns:
            dict: ``video_id`` -> that video's results in frame order, one
            per ``frame_id``.

        Raises:
            KeyError: A result lacks ``video_id`` or ``frame_id``.
            ValueError: A frame repeats and ``drop_duplicate_frames`` is
                False.
        """
        videos = defaultdict(list)
        for res in results:
            for key in ('video_id', 'frame_id'):
                if key not in res:
                    raise KeyError(f'{type(self).__name__}: every stored '
                                   f'result needs {key!r}, got keys '
                                   f'{sorted(res)}')
            videos[res['video_id']].append(res)
        grouped = {}
        for video in sorted(videos, key=str):
            frames = sorted(videos[video], key=lambda r: int(r['frame_id']))
            ids = [int(r['frame_id']) for r in frames]
            repeated = sorted({b for a, b in zip(ids, ids[1:]) if a == b})
            if repeated and not self.drop_duplicate_frames:
                raise ValueError(f'video {video!r}: frames {repeated} were '
                                 'evaluated more than once')
            grouped[video] = [r for i, r in enumerate(frames)
                              if i == 0 or ids[i - 1] != ids[i]]
        return grouped

    def compute_metrics(self, results: List[dict]) -> dict:
        """Group, order and de-duplicate, then
        :meth:`compute_video_metrics`.

        Args:
            results (list[dict]): Frame results of all ranks, any order.

        Returns:
            dict: What :meth:`compute_video_metrics` returns.
        """
        return self.compute_video_metrics(self.group_videos(results))

    @abstractmethod
    def compute_video_metrics(self, videos: Dict[Any, List[dict]]) -> dict:
        """Compute the metrics from the frames of every video.

        Args:
            videos (dict): ``video_id`` -> frame results ordered by
                ``frame_id`` (sorted by video id, no frame twice).

        Returns:
            dict: Metric name -> value.
        """
