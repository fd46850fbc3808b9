from .stage_schedule_hook import StageScheduleHook, find_sample_clips
from .video_prediction_writer_hook import VideoPredictionWriterHook

__all__ = [
    'StageScheduleHook', 'VideoPredictionWriterHook', 'find_sample_clips'
]
