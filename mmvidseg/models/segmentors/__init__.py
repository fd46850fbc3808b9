from .label_propagator import LabelPropagator
from .video_encoder_decoder import VideoEncoderDecoder

__all__ = ['LabelPropagator', 'VideoEncoderDecoder']
