from .feature_extractors import (CONVERTERS, load_extractor_weights,
                                 unwrap_checkpoint)
from .tmanet import (convert_tmanet_checkpoint, mmvidseg_to_tmanet,
                     tmanet_to_mmvidseg)

__all__ = [
    'convert_tmanet_checkpoint', 'mmvidseg_to_tmanet', 'tmanet_to_mmvidseg',
    'CONVERTERS', 'load_extractor_weights', 'unwrap_checkpoint'
]
