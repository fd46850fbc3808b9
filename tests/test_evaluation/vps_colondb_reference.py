"""VPS toolbox scores of the COSNet maps of the CVC-ColonDB fixture.

Produced once, outside this repository, by the evaluation toolbox shipped
with SALI (github.com/Scatteredrain/SALI at commit c760e64, ``eval/
evaluator.py`` + ``eval/metrics.py``, a copy of the PNS+ VPS toolbox), with
numpy 1.26.4, scipy 1.17.1 and opencv 4.11:
``cd /tmp/h2_golden && python run_golden.py``, a driver that calls the
toolbox's ``eval_engine_vps`` on

* ground truth: ``shared/data/vps_colondb_fixture/GT/<case>/*.png``,
* predictions: ``shared/data/vps_colondb_fixture/Pred-COSNet/<case>/*.png``
  (473x473, resized by the toolbox to the 574x500 masks),

with all 15 measures in ``metric_list`` (its ``--metric_list type=list``
cannot be given on a command line; paths through symlinks). ``TOOLBOX_3DP``
is the table of the unmodified ``evaluator.py`` (it rounds to 3 decimals);
``TOOLBOX_OVERALL`` that of a copy with only ``.round(3)`` and the
``'{:.3f}'`` formatting removed; ``TOOLBOX_PER_CASE`` the toolbox's
``evaluator()`` on each case's frames [1:-1], its curves reduced with
``mean`` / ``max``.

Only the first and last frame of each case are 473x473 in the fixture (the
others are at the mask size), so these never go through the toolbox's
resize. ``TOOLBOX_HALF_OVERALL`` is the same table for the maps subsampled by
numpy ``[::2, ::2]`` (written with ``cv2.imwrite``, see :func:`write_half`),
which the toolbox resizes back with ``cv2.resize``:
``cd /tmp/h2_golden && python run_golden_half.py``.
"""
import glob
import os
import os.path as osp

import cv2

FIXTURE = 'vps_colondb_fixture'
CASES = {'7': 5, '8': 12}  # frames per case (first and last not scored)

TOOLBOX_OVERALL = {
    'Smeasure': 0.6429871332711306,
    'meanEm': 0.5273872473760111,
    'maxEm': 0.8481137626054676,
    'wFmeasure': 0.34075628690268817,
    'meanFm': 0.4048414341185277,
    'maxFm': 0.5627972160716519,
    'MAE': 0.015236101234347684,
    'meanSen': 0.24970402027380068,
    'maxSen': 1.0,
    'meanSpe': 0.816870313628701,
    'maxSpe': 0.8332638094618479,
    'meanDice': 0.3175302515129771,
    'maxDice': 0.5168932071761531,
    'meanIoU': 0.23594503029034994,
    'maxIoU': 0.41183835665925683,
}

TOOLBOX_3DP = {
    'Smeasure': 0.643, 'meanEm': 0.527, 'maxEm': 0.848, 'wFmeasure': 0.341,
    'meanFm': 0.405, 'maxFm': 0.563, 'MAE': 0.015, 'meanSen': 0.250,
    'maxSen': 1.000, 'meanSpe': 0.817, 'maxSpe': 0.833, 'meanDice': 0.318,
    'maxDice': 0.517, 'meanIoU': 0.236, 'maxIoU': 0.412
}

TOOLBOX_HALF_OVERALL = {
    'Smeasure': 0.6401637725828498,
    'meanEm': 0.5307380142006293,
    'maxEm': 0.9017638486065671,
    'wFmeasure': 0.34122063045446244,
    'meanFm': 0.4054868200259415,
    'maxFm': 0.5601671509679459,
    'MAE': 0.015258354353637928,
    'meanSen': 0.2503791369204178,
    'maxSen': 1.0,
    'meanSpe': 0.8168594453293798,
    'maxSpe': 0.8332625432310248,
    'meanDice': 0.3182387069604326,
    'maxDice': 0.5166543483681905,
    'meanIoU': 0.2363309211883519,
    'maxIoU': 0.4122115949116984,
}

TOOLBOX_PER_CASE = {
    '7': {
        'Smeasure': 0.5742210120201269,
        'meanEm': 0.4070088956667075,
        'maxEm': 0.7445613167172386,
        'wFmeasure': 0.18081441813694585,
        'meanFm': 0.22936590128907536,
        'maxFm': 0.3858728988972528,
        'MAE': 0.0082977158343012,
        'meanSen': 0.11004909554901357,
        'maxSen': 1.0,
        'meanSpe': 0.6637280197297917,
        'maxSpe': 0.6666666666666666,
        'meanDice': 0.15683813166662125,
        'maxDice': 0.3137390761073431,
        'meanIoU': 0.09565468818144163,
        'maxIoU': 0.20582447018962546,
    },
    '8': {
        'Smeasure': 0.7117532545221339,
        'meanEm': 0.6477655990853147,
        'maxEm': 0.9516662084936967,
        'wFmeasure': 0.5006981556684306,
        'meanFm': 0.5803169669479799,
        'maxFm': 0.745917788559675,
        'MAE': 0.022174486634394176,
        'meanSen': 0.38935894499858786,
        'maxSen': 1.0,
        'meanSpe': 0.9700126075276105,
        'maxSpe': 0.9998738343878741,
        'meanDice': 0.47822237135933304,
        'maxDice': 0.7275227346087735,
        'meanIoU': 0.37623537239925825,
        'maxIoU': 0.6279214193474892,
    },
}


def fixture_dirs(shared_data):
    """(GT folder, prediction folder) of the fixture."""
    root = osp.join(shared_data, FIXTURE)
    return osp.join(root, 'GT'), osp.join(root, 'Pred-COSNet')


def write_half(shared_data, out_dir):
    """The fixture's maps subsampled ``[::2, ::2]`` as
    ``out_dir/<case>/<name>.png``."""
    _, pred_dir = fixture_dirs(shared_data)
    for path in glob.glob(osp.join(pred_dir, '*', '*.png')):
        case = osp.basename(osp.dirname(path))
        os.makedirs(osp.join(out_dir, case), exist_ok=True)
        cv2.imwrite(osp.join(out_dir, case, osp.basename(path)),
                    cv2.imread(path, cv2.IMREAD_GRAYSCALE)[::2, ::2])


def load_fixture(shared_data):
    """Case -> list of (name, gt, pred) in frame order, pred resized to the
    mask size as the toolbox does (OpenCV grey read, bilinear resize)."""
    gt_dir, pred_dir = fixture_dirs(shared_data)
    cases = {}
    for case in CASES:
        paths = sorted(glob.glob(osp.join(gt_dir, case, '*.png')),
                       key=lambda p: int(osp.basename(p)[:-4]))
        frames = []
        for path in paths:
            name = osp.basename(path)
            gt = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
            pred = cv2.imread(osp.join(pred_dir, case, name),
                              cv2.IMREAD_GRAYSCALE)
            pred = cv2.resize(pred, (gt.shape[1], gt.shape[0]))
            frames.append((name, gt, pred))
        cases[case] = frames
    return cases
