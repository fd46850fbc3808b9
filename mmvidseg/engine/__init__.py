from .hooks import VideoPredictionWriterHook
from .runner import (VideoTestLoop, VideoValLoop, evaluate_all_ranks,
                     reset_model_state)

__all__ = [
    'VideoPredictionWriterHook', 'VideoTestLoop', 'VideoValLoop',
    'evaluate_all_ranks', 'reset_model_state'
]
