"""Helpers shared by the streaming validation and test loops."""
from typing import Any, Optional, Sequence

from mmengine.evaluator import Evaluator
from mmengine.model import is_model_wrapper

from mmvidseg.evaluation.metrics import BaseVideoMetric, gather_and_evaluate


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
    """Reset a streaming model (:class:`StreamingMixin`; no-op otherwise)."""
    from mmvidseg.models.segmentors.streaming_mixin import StreamingMixin
    core = unwrap(model)
    if isinstance(core, StreamingMixin):
        core.reset_state()


def evaluate_all_ranks(evaluator: Evaluator) -> dict:
    """Evaluate every metric on the results of all ranks.

    mmengine's ``BaseMetric.evaluate`` interleaves rank results assuming every
    rank processed the same number of samples (as the padded DefaultSampler
    does). Streaming evaluation gives whole videos to ranks, so counts differ.
    Per-video metrics (:class:`BaseVideoMetric`) gather their own results;
    any other metric (e.g. mmseg's ``IoUMetric``) is evaluated by
    :func:`gather_and_evaluate` with the same gathering: every rank's
    results, nothing dropped or repeated, computed once on the main process.
    """
    metrics = {}
    for metric in evaluator.metrics:
        if isinstance(metric, BaseVideoMetric):
            values = metric.evaluate()
        else:
            values = gather_and_evaluate(metric)
        for name in values:
            if name in metrics:
                raise ValueError(f'two metrics produce the key {name!r}')
        metrics.update(values)
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
