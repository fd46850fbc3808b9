from .base_video_dataset import BaseVideoDataset
from .base_volume_dataset import BaseVolumeDataset
from .camvid_video_dataset import CamVidVideoDataset
from .cityscapes_seq_dataset import CityscapesSeqDataset
from .clip_policies import (BaseClipPolicy, FirstFrameQueueClipPolicy,
                            FixedOffsetClipPolicy, RandomSkipClipPolicy,
                            SALIClipPolicy, ShiftedClipPolicy,
                            STCNTripletClipPolicy)
from .ct_volume_dataset import CTVolumeDataset, read_split_file
from .davis_dataset import DAVISDataset
from .endovis18_dataset import EndoVis18Dataset
from .nifti_volume_dataset import NiftiVolumeDataset
from .procedural_video_dataset import ProceduralVideoDataset
from .samplers import VideoSequentialSampler
from .sunseg_dataset import SUNSEGDataset
from .transforms import (ClipToImage, ClipTransformBroadcaster, ColorEnhance,
                         CTMultiWindow, LoadVideoAnnotations, LoadVideoFrames,
                         LoadVolumeLabels, LoadVolumeSlices,
                         PackVideoSegInputs, PepperNoise, RandomGaussianBlur,
                         RandomRotateBicubic, SampleClip, SoftMaskResize)
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
    'LoadVolumeSlices', 'VolumeCache', 'SALIClipPolicy', 'SUNSEGDataset',
    'ColorEnhance', 'PepperNoise', 'RandomRotateBicubic', 'SoftMaskResize',
    'EndoVis18Dataset', 'CTVolumeDataset', 'read_split_file', 'CTMultiWindow',
    'RandomGaussianBlur', 'ClipToImage', 'LoadVolumeLabels',
    'STCNTripletClipPolicy'
]
