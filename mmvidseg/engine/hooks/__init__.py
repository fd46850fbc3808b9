from .cps_epoch_length_hook import CPSEpochLengthHook, labelled_epoch_length
from .ms_tfal_hook import ENDOVIS18_RANK_WEIGHTS, MSTFALHook
from .stage_schedule_hook import StageScheduleHook, find_sample_clips
from .video_prediction_writer_hook import VideoPredictionWriterHook

__all__ = [
    'CPSEpochLengthHook', 'labelled_epoch_length',
    'ENDOVIS18_RANK_WEIGHTS', 'MSTFALHook', 'StageScheduleHook',
    'VideoPredictionWriterHook', 'find_sample_clips'
]
