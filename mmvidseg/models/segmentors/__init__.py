from .label_propagator import LabelPropagator
from .ms_tfal_segmentor import MSTFALSegmentor
from .sali_segmentor import SALISegmentor
from .streaming_mixin import GIVEN_MASK_FIELD, StreamingMixin
from .video_encoder_decoder import VideoEncoderDecoder

__all__ = [
    'GIVEN_MASK_FIELD', 'LabelPropagator', 'MSTFALSegmentor',
    'SALISegmentor', 'StreamingMixin', 'VideoEncoderDecoder'
]
