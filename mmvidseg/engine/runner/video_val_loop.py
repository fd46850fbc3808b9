"""Streaming validation loop."""
from mmengine.runner import ValLoop

from mmvidseg.registry import LOOPS

from .streaming import run_streaming


@LOOPS.register_module()
class VideoValLoop(ValLoop):
    """ValLoop that streams whole videos.

    Each rank runs its videos in frame order (use
    :class:`VideoSequentialSampler` and ``batch_size=1``); the model's
    ``reset_state()`` is called before every new ``video_id`` and at the end,
    and metric results are gathered from all ranks whatever their counts (see
    :func:`evaluate_all_ranks`).
    """

    def run(self) -> dict:
        return run_streaming(self, 'val', self.val_loss)
