from .ohem_cross_entropy_loss import OhemCrossEntropyLoss
from .structure_loss import StructureLoss

__all__ = ['StructureLoss', 'OhemCrossEntropyLoss']
