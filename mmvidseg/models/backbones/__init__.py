from .reference_pvt_v2 import ReferencePVTv2

__all__ = ['ReferencePVTv2']
