from .data_preprocessors import VideoSegDataPreProcessor
from .decode_heads import TemporalAttentionHead, TMAHead
from .segmentors import LabelPropagator, VideoEncoderDecoder
from .utils import AFFINITIES, affinity_logits, memory_read

__all__ = [
    'VideoSegDataPreProcessor', 'TemporalAttentionHead', 'TMAHead',
    'VideoEncoderDecoder', 'LabelPropagator',
    'AFFINITIES', 'affinity_logits', 'memory_read'
]
