"""Official DAVIS scores of the OSVOS car-shadow results (test reference).

Produced once, outside this repository, by the official scorer
davisvideochallenge/davis2017-evaluation at commit
ac7c43fca936f9722837b7fbd337d284ba37004b (2023-02-26): its ``davis2017``
package, run unmodified with numpy 1.26, opencv 4.11 and scikit-image 0.25,
``DAVISEvaluation(davis_root, task='semi-supervised', gt_set='val')
.evaluate(results)`` on

* results: ``shared/data/davis2017_osvos_results/car-shadow/*.png`` (palette,
  ids 0/1),
* ground truth: ``shared/data/davis2016/Annotations/480p/car-shadow/*.png``
  converted 255 -> object id 1 and saved as 8-bit PNGs,

and its per-frame values from ``DAVISEvaluation._evaluate_semisupervised``
on frames 1..38 (of 0..39; first and last are not scored). The global
numbers are those ``evaluation_method.py`` prints.
"""
import glob
import os.path as osp

import numpy as np
from PIL import Image

SEQUENCE = 'car-shadow'

OFFICIAL_J = (
    0.9705123303383675, 0.9727038626609442, 0.9691722121395443,
    0.9682190219643597, 0.9643716772026344, 0.9632404843351251,
    0.9589770615482761, 0.9617071283212474, 0.9519548498406293,
    0.9560482654600302, 0.9556973848069739, 0.9613384580601402,
    0.9584052010083588, 0.9616666094184728, 0.9622045567463979,
    0.9613372837338601, 0.9606614315916642, 0.9624057212083317,
    0.9627702484672475, 0.9639954994374297, 0.96773774467348,
    0.9616636205589979, 0.9642210775442016, 0.9500504298544739,
    0.9565452755905511, 0.9612145955600918, 0.9564117430032151,
    0.779922250171507, 0.948201599820999, 0.9060867652718975,
    0.9147023226327012, 0.9176153385260635, 0.8834691570995181,
    0.7846476001542955, 0.7640598267012528, 0.8153630604288499,
    0.860868405255786, 0.7390905196156435,
)

OFFICIAL_F = (
    0.9903988183161004, 0.9947643979057591, 0.9976401128352748,
    0.9752753297587753, 0.9811153352144062, 0.9995393827729157,
    0.9324554719884238, 0.9644392240703341, 0.9421136280949008,
    0.943050966071081, 0.9453795314938718, 0.9377813761209044,
    0.9469980646296405, 0.9649953301946509, 0.9504328680220764,
    0.9614528493769476, 0.9493107808386709, 0.9536423841059603,
    0.9690721649484536, 1.0, 1.0, 0.9685990338164252, 1.0, 0.9713871547179526,
    0.9651612903225807, 0.9926118022890356, 0.9947229551451187,
    0.6458267818295389, 0.9496021220159152, 0.8596003005259203,
    0.8893221826765874, 0.8797456517673461, 0.8580379336257893,
    0.743718592964824, 0.7155151695487473, 0.7221821330639342,
    0.7997228775068265, 0.6058589454945285,
)

OFFICIAL_GLOBAL = {
    'J&F-Mean': 0.9229043890108392,
    'J-Mean': 0.9284015952829885,
    'J-Recall': 1.0,
    'J-Decay': 0.11028022983041497,
    'F-Mean': 0.9174071827386898,
    'F-Recall': 1.0,
    'F-Decay': 0.1697486757837553,
}


def load_car_shadow(shared_data: str):
    """(gt, pred): (40, 480, 854) object ids, GT 255 -> 1 (DAVIS-2016)."""
    gt_dir = osp.join(shared_data, 'davis2016', 'Annotations', '480p',
                      SEQUENCE)
    gt_files = sorted(glob.glob(osp.join(gt_dir, '*.png')))
    pred_dir = osp.join(shared_data, 'davis2017_osvos_results', SEQUENCE)
    gt = np.stack([np.array(Image.open(f)) for f in gt_files])
    gt = (gt == 255).astype(np.uint8)
    pred = np.stack([
        np.array(Image.open(osp.join(pred_dir, osp.basename(f))))
        for f in gt_files
    ])
    return gt, pred
