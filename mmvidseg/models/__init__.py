from .data_preprocessors import VideoSegDataPreProcessor
from .decode_heads import TemporalAttentionHead
from .segmentors import VideoEncoderDecoder
from .utils import AFFINITIES, affinity_logits, memory_read

__all__ = [
    'VideoSegDataPreProcessor', 'TemporalAttentionHead', 'VideoEncoderDecoder',
    'AFFINITIES', 'affinity_logits', 'memory_read'
]
