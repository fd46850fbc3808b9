from .base_clip_policy import BaseClipPolicy, MissingFrameError
from .first_frame_queue_clip_policy import FirstFrameQueueClipPolicy
from .fixed_offset_clip_policy import FixedOffsetClipPolicy
from .random_skip_clip_policy import RandomSkipClipPolicy
from .sali_clip_policy import SALIClipPolicy
from .shifted_clip_policy import ShiftedClipPolicy
from .stcn_triplet_clip_policy import STCNTripletClipPolicy

__all__ = [
    'BaseClipPolicy', 'FixedOffsetClipPolicy', 'RandomSkipClipPolicy',
    'ShiftedClipPolicy', 'FirstFrameQueueClipPolicy', 'SALIClipPolicy',
    'MissingFrameError', 'STCNTripletClipPolicy'
]
