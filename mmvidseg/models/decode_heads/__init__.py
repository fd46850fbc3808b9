from .base_temporal_head import BaseTemporalHead
from .deeplabv3plus_lite_head import DeepLabV3PlusLiteHead
from .sali_head import SALIHead
from .slice_position_head import SlicePositionHead
from .temporal_attention_head import TemporalAttentionHead
from .tma_head import TMAHead

__all__ = ['BaseTemporalHead', 'SALIHead', 'TemporalAttentionHead', 'TMAHead',
           'DeepLabV3PlusLiteHead', 'SlicePositionHead']
