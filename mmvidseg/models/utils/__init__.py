from .memory_read import AFFINITIES, affinity_logits, memory_read, sdpa

__all__ = ['AFFINITIES', 'affinity_logits', 'memory_read', 'sdpa']
