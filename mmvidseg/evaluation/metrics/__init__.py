from .davis_metric import DAVISMetric

__all__ = ['DAVISMetric']
