from .backbones import ReferencePVTv2, ResNet18OS8, ResNetViTHybrid
from .data_preprocessors import VideoSegDataPreProcessor
from .decode_heads import (DeepLabV3PlusLiteHead, SALIHead, SlicePositionHead,
                           TemporalAttentionHead, TMAHead)
from .losses import StructureLoss
from .necks import RFBNeck
from .segmentors import (CPSSegmentor, LabelPropagator, SALISegmentor,
                         VideoEncoderDecoder)
from .utils import AFFINITIES, affinity_logits, memory_read

__all__ = [
    'VideoSegDataPreProcessor', 'TemporalAttentionHead', 'TMAHead',
    'VideoEncoderDecoder', 'LabelPropagator',
    'AFFINITIES', 'affinity_logits', 'memory_read', 'RFBNeck',
    'StructureLoss', 'SALIHead', 'SALISegmentor', 'ReferencePVTv2',
    'ResNet18OS8', 'DeepLabV3PlusLiteHead', 'CPSSegmentor',
    'SlicePositionHead', 'ResNetViTHybrid'
]
