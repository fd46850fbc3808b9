from .cps_segmentor import CPSSegmentor
from .label_propagator import LabelPropagator
from .ms_tfal_segmentor import MSTFALSegmentor
from .sali_segmentor import SALISegmentor
from .stcn import STCN
from .streaming_mixin import GIVEN_MASK_FIELD, StreamingMixin
from .video_encoder_decoder import VideoEncoderDecoder

__all__ = [
    'CPSSegmentor', 'GIVEN_MASK_FIELD', 'LabelPropagator', 'MSTFALSegmentor',
    'SALISegmentor', 'StreamingMixin', 'VideoEncoderDecoder', 'STCN'
]
