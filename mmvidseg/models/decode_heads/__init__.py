from .base_temporal_head import BaseTemporalHead
from .temporal_attention_head import TemporalAttentionHead
from .tma_head import TMAHead

__all__ = ['BaseTemporalHead', 'TemporalAttentionHead', 'TMAHead']
