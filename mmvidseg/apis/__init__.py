from .frame_sources import FrameSource, check_sources
from .overlay_writer import OverlayWriter, blend
from .tfal_visualizer import TFALVisualizer, tfal_visual_maps
from .video_inferencer import VideoInferencer

__all__ = [
    'FrameSource', 'OverlayWriter', 'VideoInferencer', 'blend',
    'TFALVisualizer', 'tfal_visual_maps', 'check_sources'
]
