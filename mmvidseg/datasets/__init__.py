from .base_video_dataset import BaseVideoDataset
from .base_volume_dataset import BaseVolumeDataset
from .camvid_video_dataset import CamVidVideoDataset
from .cityscapes_seq_dataset import CityscapesSeqDataset
from .clip_policies import (BaseClipPolicy, FirstFrameQueueClipPolicy,
                            FixedOffsetClipPolicy, RandomSkipClipPolicy,
                            ShiftedClipPolicy)
from .davis_dataset import DAVISDataset
from .nifti_volume_dataset import NiftiVolumeDataset
from .procedural_video_dataset import ProceduralVideoDataset
from .samplers import VideoSequentialSampler
from .transforms import (ClipTransformBroadcaster, LoadVideoAnnotations,
                         LoadVideoFrames, LoadVolumeSlices, PackVideoSegInputs,
                         SampleClip)
from .video_folder_dataset import VideoFolderDataset
from .volume_cache import VolumeCache

__all__ = [
    'BaseVideoDataset', 'VideoFolderDataset', 'ProceduralVideoDataset',
    'BaseClipPolicy', 'FixedOffsetClipPolicy', 'RandomSkipClipPolicy',
    'ShiftedClipPolicy', 'FirstFrameQueueClipPolicy', 'VideoSequentialSampler',
    'ClipTransformBroadcaster', 'LoadVideoAnnotations', 'LoadVideoFrames',
    'PackVideoSegInputs',
    'SampleClip', 'CityscapesSeqDataset', 'CamVidVideoDataset',
    'DAVISDataset', 'BaseVolumeDataset', 'NiftiVolumeDataset',
    'LoadVolumeSlices', 'VolumeCache'
]
