from .temporal_attention_head import TemporalAttentionHead

__all__ = ['TemporalAttentionHead']
