from .hooks import StageScheduleHook, VideoPredictionWriterHook
from .optimizers import MultiOptimWrapperConstructor
from .runner import (AtomicCheckpointRunner, VideoTestLoop, VideoValLoop,
                     evaluate_all_ranks, reset_model_state)

__all__ = [
    'AtomicCheckpointRunner', 'MultiOptimWrapperConstructor',
    'StageScheduleHook',
    'VideoPredictionWriterHook', 'VideoTestLoop', 'VideoValLoop',
    'evaluate_all_ranks', 'reset_model_state'
]
