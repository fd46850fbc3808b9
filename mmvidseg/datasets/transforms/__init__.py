from .clip_transform_broadcaster import CLIP_KEYS, ClipTransformBroadcaster
from .frame_keys import FRAME_KEYS, frame_keys_of, frame_results
from .load_video_annotations import LoadVideoAnnotations
from .load_video_frames import LoadVideoFrames
from .load_volume_slices import LoadVolumeSlices
from .pack_video_seg_inputs import PackVideoSegInputs
from .sample_clip import SampleClip

__all__ = [
    'CLIP_KEYS', 'ClipTransformBroadcaster', 'LoadVideoAnnotations',
    'LoadVideoFrames',
    'PackVideoSegInputs', 'SampleClip', 'LoadVolumeSlices', 'FRAME_KEYS',
    'frame_keys_of', 'frame_results'
]
