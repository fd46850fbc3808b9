from .video_encoder_decoder import VideoEncoderDecoder

__all__ = ['VideoEncoderDecoder']
