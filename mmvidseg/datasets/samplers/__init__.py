from .video_sequential_sampler import VideoSequentialSampler

__all__ = ['VideoSequentialSampler']
