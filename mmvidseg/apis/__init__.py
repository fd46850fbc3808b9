from .frame_sources import FrameSource, check_sources
from .overlay_writer import OverlayWriter, blend
from .pseudo_label import (filter_pseudo_labels, majority_vote,
                           vote_and_certainty)
from .tfal_visualizer import TFALVisualizer, tfal_visual_maps
from .video_inferencer import VideoInferencer
from .volume_inferencer import TwoStageVolumeInferencer

__all__ = [
    'filter_pseudo_labels', 'majority_vote', 'vote_and_certainty',
    'FrameSource', 'OverlayWriter', 'VideoInferencer', 'blend',
    'TFALVisualizer', 'tfal_visual_maps', 'check_sources',
    'TwoStageVolumeInferencer'
]
