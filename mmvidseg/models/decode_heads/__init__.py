from .base_temporal_head import BaseTemporalHead
from .sali_head import SALIHead
from .temporal_attention_head import TemporalAttentionHead
from .tma_head import TMAHead

__all__ = ['BaseTemporalHead', 'SALIHead', 'TemporalAttentionHead', 'TMAHead']
