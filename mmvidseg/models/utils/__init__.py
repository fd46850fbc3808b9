from .label_propagation import (LabelPropagationState, labels_to_mask,
                                minmax_normalize, propagate_step,
                                propagate_video, radius_mask, upsample_labels)
from .memory_read import (AFFINITIES, affinity_logits, memory_read,
                          memory_read_maps, sdpa)

__all__ = [
    'AFFINITIES', 'affinity_logits', 'memory_read', 'memory_read_maps',
    'sdpa',
    'LabelPropagationState', 'labels_to_mask', 'minmax_normalize',
    'propagate_step', 'propagate_video', 'radius_mask', 'upsample_labels'
]
