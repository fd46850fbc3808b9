from .label_propagation import (LabelPropagationState, labels_to_mask,
                                minmax_normalize, propagate_step,
                                propagate_video, radius_mask, upsample_labels)
from .memory_bank import MemoryBank, MemoryEntry
from .memory_read import (AFFINITIES, affinity_logits, affinity_scale,
                          memory_read, memory_read_maps, prepare_keys,
                          prepare_query, sdpa)
from .padding import pad_to_multiple, unpad
from .soft_aggregate import soft_aggregate, soft_aggregate_logits
from .tfal import (TFALAffinity, VideoReliability, confidence_map,
                   image_weight, select_noise, tfal_affinity,
                   video_reliability)
from .tiled_read import MAX_BLOCK, KeyGroup, plan_tiles, tiled_read

__all__ = [
    'AFFINITIES', 'affinity_logits', 'affinity_scale', 'memory_read',
    'memory_read_maps', 'prepare_keys', 'prepare_query', 'sdpa',
    'MAX_BLOCK', 'KeyGroup', 'plan_tiles', 'tiled_read', 'MemoryBank',
    'MemoryEntry', 'LabelPropagationState', 'labels_to_mask',
    'minmax_normalize', 'propagate_step', 'propagate_video', 'radius_mask',
    'upsample_labels', 'TFALAffinity', 'VideoReliability', 'confidence_map',
    'image_weight', 'select_noise', 'tfal_affinity', 'video_reliability',
    'pad_to_multiple', 'unpad', 'soft_aggregate', 'soft_aggregate_logits'
]
