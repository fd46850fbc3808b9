from .temporal_attention_head import TemporalAttentionHead
from .tma_head import TMAHead

__all__ = ['TemporalAttentionHead', 'TMAHead']
