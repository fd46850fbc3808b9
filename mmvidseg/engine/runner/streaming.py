"""Helpers shared by the streaming validation and test loops."""
import logging
from typing import Any, Optional, Sequence

from mmengine.dist import (all_gather_object, broadcast_object_list,
                           get_world_size, is_main_process)
from mmengine.evaluator import Evaluator
from mmengine.evaluator.metric import _to_cpu
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper


def unwrap(model):
    """The model inside a DDP/FSDP wrapper."""
    return model.module if is_model_wrapper(model) else model


def batch_video_id(data_batch: dict) -> Optional[Any]:
    """``video_id`` of a batch; raise if a batch mixes videos."""
    samples: Sequence = data_batch.get('data_samples') or []
    ids = {s.metainfo.get('video_id') for s in samples}
    if len(ids) > 1:
        raise ValueError(
            f'a streaming batch mixes videos {sorted(map(str, ids))}; use '
            'batch_size=1 with VideoSequentialSampler')
    return ids.pop() if ids else None


def reset_model_state(model) -> None:
    """Call ``reset_state()`` of a stateful model (no-op otherwise)."""
    core = unwrap(model)
    if hasattr(core, 'reset_state'):
        core.reset_state()


def evaluate_all_ranks(evaluator: Evaluator) -> dict:
    """Evaluate every metric on the results of all ranks.

    mmengine's ``BaseMetric.evaluate`` interleaves rank results assuming every
    rank processed the same number of samples (as the padded DefaultSampler
    does). Streaming evaluation gives whole videos to ranks, so counts differ;
    here each metric's results are gathered from all ranks, concatenated in
    rank order and computed once on the main process, with nothing dropped or
    repeated.
    """
    metrics = {}
    for metric in evaluator.metrics:
        local = _to_cpu(metric.results)
        parts = all_gather_object(local) if get_world_size() > 1 else [local]
        results = [r for part in parts for r in part]
        if not results:
            print_log(
                f'{type(metric).__name__} got no results; the metric will '
                'be computed on nothing', logger='current',
                level=logging.WARNING)
        computed = [None]
        if is_main_process():
            values = metric.compute_metrics(results)
            if metric.prefix:
                values = {f'{metric.prefix}/{k}': v for k, v in values.items()}
            computed = [values]
        broadcast_object_list(computed)
        metric.results.clear()
        for name in computed[0]:
            if name in metrics:
                raise ValueError(f'two metrics produce the key {name!r}')
        metrics.update(computed[0])
    return metrics


def run_streaming(loop, phase: str, losses: dict) -> dict:
    """Body of :class:`VideoValLoop` / :class:`VideoTestLoop` ``run``.

    Args:
        loop: The val or test loop (``runner``, ``dataloader``,
            ``evaluator``, ``run_iter``).
        phase (str): ``'val'`` or ``'test'`` (hook names, loss prefix).
        losses (dict): The loop's loss buffer (``val_loss``/``test_loss``).
    """
    from mmengine.runner.loops import _parse_losses
    runner = loop.runner
    runner.call_hook(f'before_{phase}')
    runner.call_hook(f'before_{phase}_epoch')
    runner.model.eval()
    losses.clear()
    current = object()
    for idx, data_batch in enumerate(loop.dataloader):
        video = batch_video_id(data_batch)
        if video != current:
            reset_model_state(runner.model)
            current = video
        loop.run_iter(idx, data_batch)
    reset_model_state(runner.model)
    metrics = evaluate_all_ranks(loop.evaluator)
    if losses:
        metrics.update(_parse_losses(losses, phase))
    runner.call_hook(f'after_{phase}_epoch', metrics=metrics)
    runner.call_hook(f'after_{phase}')
    return metrics
