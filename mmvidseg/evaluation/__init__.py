from .folder_scorer import (FOLDER_READERS, BaseFolderReader,
                            DAVISFolderReader, EndoVisFolderReader,
                            VPSFolderReader, register_folder_reader,
                            score_folder)
from .functional import (boundary_f_measure, davis_statistics,
                         evaluate_davis_folder, evaluate_sequence,
                         evaluate_vps, frame_measures, region_similarity)
from .metrics import (BaseVideoMetric, DAVISMetric, EndoVisMetric, VPSMetric,
                      all_gather_results, gather_and_evaluate)

__all__ = [
    'DAVISMetric', 'boundary_f_measure', 'davis_statistics',
    'evaluate_davis_folder', 'evaluate_sequence', 'region_similarity',
    'BaseVideoMetric', 'all_gather_results', 'gather_and_evaluate',
    'FOLDER_READERS', 'BaseFolderReader', 'DAVISFolderReader',
    'register_folder_reader', 'score_folder', 'VPSFolderReader',
    'VPSMetric', 'evaluate_vps', 'frame_measures', 'EndoVisMetric',
    'EndoVisFolderReader'
]
