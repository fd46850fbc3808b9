from .clip_transform_broadcaster import CLIP_KEYS, ClipTransformBroadcaster
from .load_video_annotations import LoadVideoAnnotations
from .load_video_frames import LoadVideoFrames
from .pack_video_seg_inputs import PackVideoSegInputs
from .sample_clip import SampleClip

__all__ = [
    'CLIP_KEYS', 'ClipTransformBroadcaster', 'LoadVideoAnnotations',
    'LoadVideoFrames',
    'PackVideoSegInputs', 'SampleClip'
]
