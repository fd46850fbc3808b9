from .conv_bn import ConvBN
from .modulated_dcn_pack import ModulatedDCNPack
from .neighbor_connection_decoder import NeighborConnectionDecoder
from .non_local_fusion import NonLocalFusion
from .pcd_alignment import PCDAlignment
from .reverse_stage import ReverseStage
from .rfb_block import RFBBlock
from .sinet_v2_decoder import SINetV2Decoder

__all__ = [
    'ConvBN', 'ModulatedDCNPack', 'NeighborConnectionDecoder',
    'NonLocalFusion', 'PCDAlignment', 'ReverseStage', 'RFBBlock',
    'SINetV2Decoder'
]
