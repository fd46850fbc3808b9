"""Streaming test loop."""
from mmengine.runner import TestLoop

from mmvidseg.registry import LOOPS

from .streaming import run_streaming


@LOOPS.register_module()
class VideoTestLoop(TestLoop):
    """TestLoop that streams whole videos (see :class:`VideoValLoop`)."""

    def run(self) -> dict:
        return run_streaming(self, 'test', self.test_loss)
