from .reference_pvt_v2 import ReferencePVTv2
from .resnet18_os8 import ResNet18OS8
from .resnet_vit_hybrid import ResNetViTHybrid

__all__ = ['ReferencePVTv2', 'ResNet18OS8', 'ResNetViTHybrid']
