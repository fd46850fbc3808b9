from .frame_sources import FrameSource
from .overlay_writer import OverlayWriter, blend
from .video_inferencer import VideoInferencer

__all__ = ['FrameSource', 'OverlayWriter', 'VideoInferencer', 'blend']
