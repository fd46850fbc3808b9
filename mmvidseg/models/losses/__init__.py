from .structure_loss import StructureLoss

__all__ = ['StructureLoss']
