from .clip_to_image import ClipToImage
from .clip_transform_broadcaster import CLIP_KEYS, ClipTransformBroadcaster
from .color_enhance import ColorEnhance
from .ct_multi_window import (FLARE22_CT_WINDOWS, CTMultiWindow,
                              ct_multi_window, window_bounds)
from .frame_keys import FRAME_KEYS, frame_keys_of, frame_results
from .load_video_annotations import LoadVideoAnnotations
from .load_video_frames import LoadVideoFrames
from .load_volume_labels import LoadVolumeLabels
from .load_volume_slices import LoadVolumeSlices
from .pack_video_seg_inputs import PackVideoSegInputs
from .pepper_noise import PepperNoise
from .random_gaussian_blur import RandomGaussianBlur
from .random_rotate_bicubic import RandomRotateBicubic
from .sample_clip import SampleClip
from .soft_mask_resize import SoftMaskResize

__all__ = [
    'CLIP_KEYS', 'ClipTransformBroadcaster', 'LoadVideoAnnotations',
    'LoadVideoFrames',
    'PackVideoSegInputs', 'SampleClip', 'LoadVolumeSlices', 'FRAME_KEYS',
    'frame_keys_of', 'frame_results', 'ColorEnhance', 'PepperNoise',
    'RandomRotateBicubic', 'SoftMaskResize', 'CTMultiWindow',
    'ct_multi_window', 'window_bounds', 'FLARE22_CT_WINDOWS',
    'RandomGaussianBlur', 'ClipToImage', 'LoadVolumeLabels'
]
