from .atomic_checkpoint_runner import AtomicCheckpointRunner
from .streaming import (batch_video_id, evaluate_all_ranks, reset_model_state,
                        run_streaming, unwrap)
from .video_test_loop import VideoTestLoop
from .video_val_loop import VideoValLoop

__all__ = [
    'AtomicCheckpointRunner', 'VideoTestLoop', 'VideoValLoop',
    'batch_video_id', 'evaluate_all_ranks', 'reset_model_state',
    'run_streaming', 'unwrap'
]
