from .davis_measures import (BOUND_TH, GLOBAL_KEYS, STAT_KEYS,
                             boundary_f_measure, boundary_map,
                             check_prediction_ids, davis_statistics,
                             evaluate_davis_folder, evaluate_sequence,
                             first_frame_objects, global_table,
                             region_similarity, score_objects, sequence_table,
                             tolerance_disk)
from .flare_measures import (NSD_DSC_THRESHOLD, OFFICIAL_DECIMALS,
                             flare_case_scores, joint_slice_histogram,
                             resolve_tolerances, round_official)
from .surface_distance import (compute_surface_distances, dice,
                               neighbour_code_areas, surface_dice,
                               surface_dice_at_tolerance)
from .vps_measures import (CURVE_KEYS, MEDICAL_THRESHOLDS, SCALAR_KEYS,
                           VPS_KEYS, aggregate_cases, case_measures,
                           e_measure_curve, evaluate_vps, f_measure_curve,
                           frame_measures, mae, medical_curves, natural_key,
                           prepare_frame, s_measure, summarize,
                           weighted_f_measure)

__all__ = [
    'BOUND_TH', 'GLOBAL_KEYS', 'STAT_KEYS', 'boundary_map',
    'boundary_f_measure', 'check_prediction_ids', 'davis_statistics',
    'evaluate_davis_folder', 'evaluate_sequence', 'first_frame_objects',
    'global_table', 'region_similarity', 'score_objects', 'sequence_table',
    'tolerance_disk', 'CURVE_KEYS', 'MEDICAL_THRESHOLDS', 'SCALAR_KEYS',
    'VPS_KEYS', 'aggregate_cases', 'case_measures', 'e_measure_curve',
    'evaluate_vps', 'f_measure_curve', 'frame_measures', 'mae',
    'medical_curves', 'natural_key', 'prepare_frame', 's_measure',
    'summarize', 'weighted_f_measure', 'NSD_DSC_THRESHOLD',
    'OFFICIAL_DECIMALS', 'flare_case_scores', 'joint_slice_histogram',
    'resolve_tolerances', 'round_official', 'compute_surface_distances',
    'dice', 'neighbour_code_areas', 'surface_dice',
    'surface_dice_at_tolerance'
]
