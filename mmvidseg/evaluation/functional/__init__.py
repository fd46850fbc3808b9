from .davis_measures import (BOUND_TH, GLOBAL_KEYS, STAT_KEYS,
                             boundary_f_measure, boundary_map,
                             check_prediction_ids, davis_statistics,
                             evaluate_davis_folder, evaluate_sequence,
                             first_frame_objects, global_table,
                             region_similarity, score_objects, sequence_table,
                             tolerance_disk)

__all__ = [
    'BOUND_TH', 'GLOBAL_KEYS', 'STAT_KEYS', 'boundary_map',
    'boundary_f_measure', 'check_prediction_ids', 'davis_statistics',
    'evaluate_davis_folder', 'evaluate_sequence', 'first_frame_objects',
    'global_table', 'region_similarity', 'score_objects', 'sequence_table',
    'tolerance_disk'
]
