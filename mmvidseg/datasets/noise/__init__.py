"""MS-TFAL synthetic noisy-label generator (offline; no registered parts)."""
from .noise_ops import (NOISE_TYPES, affine_components, affine_warp,
                        dilate_mask, disk_kernel, erode_mask, fill_holes,
                        polygon_component, polygon_components,
                        sample_affine_params)
from .noisy_label_folder import (choose_noisy_videos, find_label_videos,
                                 generate_noisy_labels, process_video,
                                 read_label, summary_to_json, video_rng)
from .video_noise import (NoiseConfig, add_counts, apply_noise, choose_type,
                          count_noise, noise_ratios, noise_video,
                          split_segments, type_counts)

__all__ = [
    'NOISE_TYPES', 'affine_components', 'affine_warp', 'dilate_mask',
    'disk_kernel', 'erode_mask', 'fill_holes', 'polygon_component',
    'polygon_components', 'sample_affine_params', 'choose_noisy_videos',
    'find_label_videos', 'generate_noisy_labels', 'process_video',
    'read_label', 'summary_to_json', 'video_rng', 'NoiseConfig', 'add_counts',
    'apply_noise', 'choose_type', 'count_noise', 'noise_ratios', 'noise_video',
    'split_segments', 'type_counts'
]
