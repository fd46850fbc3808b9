"""The "epoch" of the CPS consistency ramp, from the training loader."""
from typing import Optional

from mmengine.hooks import Hook

from mmvidseg.registry import HOOKS

from ..runner.streaming import unwrap


def labelled_epoch_length(dataloader) -> int:
    """Batches per pass over the labelled stream of a CPS loader.

    kaylode/ivos ramps the consistency weight by ``iters // len(loader)``
    with its ``TwoStreamBatchSampler``, whose length is ``#labelled //
    labelled-per-batch``. With mmdet's ``MultiSourceSampler`` (infinite; its
    ``len`` counts both streams) that is ``len(datasets[0]) //
    num_per_source[0]``; for any other sampler ``len(dataloader)``.
    """
    sampler = getattr(dataloader, 'sampler', None)
    per_source = getattr(sampler, 'num_per_source', None)
    if per_source is not None:
        return max(1, len(sampler.dataset.datasets[0]) // per_source[0])
    return max(1, len(dataloader))


@HOOKS.register_module()
class CPSEpochLengthHook(Hook):
    """Give a :class:`CPSSegmentor` (``ramp_by='epoch'``) its epoch length
    before training (unless the model config set one).

    Args:
        epoch_length (int, optional): Use this instead of the loader's
            labelled-stream length. Defaults to None.
    """

    priority = 'NORMAL'

    def __init__(self, epoch_length: Optional[int] = None) -> None:
        self.epoch_length = epoch_length

    def before_train(self, runner) -> None:
        model = unwrap(runner.model)
        if not hasattr(model, 'set_epoch_length'):
            raise TypeError(f'CPSEpochLengthHook: the model '
                            f'{type(model).__name__} has no set_epoch_length')
        if model.epoch_length is not None and self.epoch_length is None:
            return
        length = self.epoch_length or labelled_epoch_length(
            runner.train_loop.dataloader)
        model.set_epoch_length(length)
        runner.logger.info(f'CPS consistency ramp: epoch length {length} '
                           f'iterations')
