from .camvid import extract_camvid_videos, extract_video_frames, find_videos
from .camvid_alignment import (alignment_problems, check_camvid_alignment,
                               format_alignment_table)
from .cityscapes import (LABEL_TO_TRAIN_ID, convert_cityscapes_trainids,
                         convert_label_file, find_label_files,
                         labelids_to_trainids, train_id_lut)
from .endovis18 import (convert_endovis18, convert_sequence, read_label_colors,
                        rgb_to_class_ids)
from .flare22 import check_header_pair, convert_flare22

__all__ = [
    'extract_camvid_videos', 'extract_video_frames', 'find_videos',
    'check_camvid_alignment', 'format_alignment_table', 'alignment_problems',
    'LABEL_TO_TRAIN_ID', 'convert_cityscapes_trainids', 'convert_label_file',
    'find_label_files', 'labelids_to_trainids', 'train_id_lut',
    'convert_endovis18', 'convert_sequence', 'read_label_colors',
    'rgb_to_class_ids', 'convert_flare22', 'check_header_pair'
]
