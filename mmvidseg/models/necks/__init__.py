from .rfb_neck import RFBNeck

__all__ = ['RFBNeck']
