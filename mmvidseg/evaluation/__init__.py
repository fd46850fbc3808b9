from .functional import (boundary_f_measure, davis_statistics,
                         evaluate_davis_folder, evaluate_sequence,
                         region_similarity)
from .metrics import DAVISMetric

__all__ = [
    'DAVISMetric', 'boundary_f_measure', 'davis_statistics',
    'evaluate_davis_folder', 'evaluate_sequence', 'region_similarity'
]
