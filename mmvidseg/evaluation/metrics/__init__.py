from .base_video_metric import (BaseVideoMetric, all_gather_results,
                                gather_and_evaluate)
from .davis_metric import DAVISMetric
from .endovis_metric import EndoVisMetric
from .volume_dsc_nsd_metric import VolumeDSCNSDMetric
from .vps_metric import VPSMetric

__all__ = [
    'BaseVideoMetric', 'DAVISMetric', 'all_gather_results',
    'gather_and_evaluate', 'VPSMetric', 'EndoVisMetric', 'VolumeDSCNSDMetric'
]
