from .base_folder_reader import (FOLDER_READERS, BaseFolderReader,
                                 register_folder_reader)
from .davis_folder_reader import DAVISFolderReader
from .endovis_folder_reader import EndoVisFolderReader
from .flare_folder_reader import FLAREFolderReader, read_label_volume
from .score_folder import report_to_json, score_folder, write_report
from .vps_folder_reader import VPSFolderReader

__all__ = [
    'FOLDER_READERS', 'BaseFolderReader', 'DAVISFolderReader',
    'register_folder_reader', 'report_to_json', 'score_folder', 'write_report',
    'VPSFolderReader', 'EndoVisFolderReader', 'FLAREFolderReader',
    'read_label_volume'
]
