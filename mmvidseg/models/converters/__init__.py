from .feature_extractors import (CONVERTERS, load_extractor_weights,
                                 unwrap_checkpoint)
from .ms_tfal import convert_mstfal_checkpoint, mmvidseg_to_mstfal
from .sali import (convert_pvt_v2, convert_sali_checkpoint,
                   convert_sali_weights, mmvidseg_to_sali)
from .stcn import convert_stcn_checkpoint, stcn_checkpoint_layout
from .tmanet import (convert_tmanet_checkpoint, mmvidseg_to_tmanet,
                     tmanet_to_mmvidseg)

__all__ = [
    'convert_tmanet_checkpoint', 'mmvidseg_to_tmanet', 'tmanet_to_mmvidseg',
    'CONVERTERS', 'load_extractor_weights', 'unwrap_checkpoint',
    'convert_pvt_v2', 'convert_sali_checkpoint', 'convert_sali_weights',
    'mmvidseg_to_sali', 'convert_mstfal_checkpoint', 'mmvidseg_to_mstfal',
    'convert_stcn_checkpoint', 'stcn_checkpoint_layout'
]
