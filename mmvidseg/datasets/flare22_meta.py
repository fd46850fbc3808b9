"""FLARE22 label ids, class names, NSD tolerances and fixed splits.

One place for the constants that the CT dataset, the DSC/NSD metric, the
two-stage inference and the tests share.
"""
from typing import Dict, Mapping, Tuple

import numpy as np

#: Class names by FLARE22 label id (0 = background), as the release and the
#: original pipeline (``datasets/flare2022v2/base.py``) number them.
FLARE22_CLASSES: Tuple[str, ...] = (
    'background', 'liver', 'kidney_right', 'spleen', 'pancreas', 'aorta',
    'inferior_vena_cava', 'adrenal_gland_right', 'adrenal_gland_left',
    'gallbladder', 'esophagus', 'stomach', 'duodenum', 'kidney_left')

#: One RGB colour per class.
FLARE22_PALETTE: Tuple[Tuple[int, int, int], ...] = (
    (0, 0, 0), (220, 90, 60), (240, 200, 40), (150, 60, 200), (250, 160, 190),
    (230, 30, 30), (40, 90, 230), (120, 220, 120), (60, 170, 60),
    (40, 200, 200), (200, 120, 40), (250, 220, 160), (170, 110, 90),
    (250, 240, 90))

#: NSD tolerance (mm) per organ id 1..13, as the official
#: ``FLARE22_DSC_NSD_Eval.py`` (``label_tolerance``).
FLARE22_NSD_TOLERANCES: Tuple[float, ...] = (
    5., 3., 3., 5., 2., 2., 2., 2., 2., 3., 5., 7., 3.)

#: Short organ names of the official scorer's CSV columns, ids 1..13.
FLARE22_SHORT_NAMES: Tuple[str, ...] = (
    'Liver', 'RK', 'Spleen', 'Pancreas', 'Aorta', 'IVC', 'RAG', 'LAG',
    'Gallbladder', 'Esophagus', 'Stomach', 'Duodenum', 'LK')

#: Organs the official scorer evaluates only within the ground truth's
#: slice range (Aorta, IVC, Esophagus).
FLARE22_Z_CROPPED: Tuple[int, ...] = (5, 6, 10)

#: The original pipeline's fixed validation cases
#: (``tools/preprocess/split_train_val.py``, ``fixed_split``).
FLARE22_FIXED_VAL_CASES: Tuple[str, ...] = (
    'FLARE22_Tr_0009', 'FLARE22_Tr_0012', 'FLARE22_Tr_0013',
    'FLARE22_Tr_0025', 'FLARE22_Tr_0035')

#: TotalSegmentator (``class_map_total.json``, v1 "total" task) ids of the
#: 13 FLARE22 organs -> FLARE22 ids.
TOTALSEG_TO_FLARE22: Dict[int, int] = {
    5: 1, 2: 2, 1: 3, 7: 4, 52: 5, 63: 6, 8: 7, 9: 8, 4: 9, 15: 10, 6: 11,
    19: 12, 3: 13}


def remap_labels(labels: np.ndarray, mapping: Mapping[int, int]) -> np.ndarray:
    """Map label ids through ``mapping``; ids not in it become 0.

    Args:
        labels (np.ndarray): Integer label array of any shape.
        mapping (Mapping[int, int]): Source id -> target id.

    Returns:
        np.ndarray: uint8 array of the same shape.
    """
    labels = np.asarray(labels)
    if labels.dtype.kind not in 'iu':
        raise ValueError(f'labels must be integer ids, got {labels.dtype}')
    table = np.zeros(max(int(labels.max(initial=0)), max(mapping)) + 1,
                     np.uint8)
    for src, dst in mapping.items():
        table[src] = dst
    return table[labels]
