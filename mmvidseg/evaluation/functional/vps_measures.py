"""Video polyp segmentation (VPS, SUN-SEG) measures, as the PNS+ toolbox.

Reproduces the evaluation toolbox of the VPS benchmark (GewelsJI/VPS
``eval/``, copied into SALI's ``eval/``):

* per frame: ``gt = gt > 128``; ``pred = pred / 255``, then min-max
  normalised ``(pred - min) / (max - min)`` unless it is constant (no
  epsilon); S-measure (alpha 0.5), E-measure and F-measure (beta^2 0.3)
  curves over the 256 uint8 thresholds of ``uint8(pred * 255)`` (255 first),
  weighted F-measure (beta 1), MAE, and the "Medical" curves Sen / Spe /
  Dice / IoU at the float thresholds ``linspace(1, 0, 256)`` with the
  toolbox's quirk that all four are 0 at a threshold with no true positive;
* per case (video): frames in natural order, the **first and the last frame
  dropped**, scalars and curves averaged over the remaining frames;
* overall: scalars and curves averaged over cases; ``mean*`` is the mean,
  ``max*`` the maximum over the 256 thresholds of the averaged curve.

Edge cases follow the toolbox: an empty ground truth gives S = 1 - mean(pred),
wF = 0 and Sen = Spe = Dice = IoU = 0; an all-foreground one gives
S = mean(pred) and Spe = NaN wherever there is a true positive (0 / 0); an
S-measure that is NaN (a one-pixel object, background or quadrant, or an empty
quadrant when the centroid is on the last row or column) becomes 0. The
toolbox prints 3 decimals; nothing is rounded here. E, F, wF and MAE come from
pysodmetrics (``py_sod_metrics``), which gives the toolbox's numbers; S and
the Medical curves are written here (see :func:`s_measure` and
:func:`medical_curves` for why).
"""
import re
import warnings
from contextlib import contextmanager
from typing import Dict, Iterator, List, Mapping, Sequence, Tuple

import numpy as np

#: the toolbox's epsilon (MATLAB ``eps``)
EPS = np.spacing(1)
#: thresholds of the Medical curves (Sen, Spe, Dice, IoU)
MEDICAL_THRESHOLDS = np.linspace(1, 0, 256)
#: per-frame scalar measures
SCALAR_KEYS = ('Smeasure', 'wFmeasure', 'MAE')
#: per-frame curves over 256 thresholds (``Em``: E-measure, ``Fm``: F)
CURVE_KEYS = ('Em', 'Fm', 'Sen', 'Spe', 'Dice', 'IoU')
#: the reported measures, named as the toolbox prints them
VPS_KEYS = ('Smeasure', 'meanEm', 'maxEm', 'wFmeasure', 'meanFm', 'maxFm',
            'MAE', 'meanSen', 'maxSen', 'meanSpe', 'maxSpe', 'meanDice',
            'maxDice', 'meanIoU', 'maxIoU')


def _sod():
    """``py_sod_metrics``, imported on first use (it imports scikit-image,
    which makes ``import mmvidseg`` a second slower otherwise)."""
    try:
        import py_sod_metrics
    except ImportError as exc:  # pragma: no cover - depends on the env
        raise ImportError('the VPS measures need pysodmetrics: '
                          'pip install pysodmetrics') from exc
    return py_sod_metrics


@contextmanager
def _quiet() -> Iterator[None]:
    """Silence numpy's warnings for the toolbox's 0 / 0 and empty means."""
    with warnings.catch_warnings(), np.errstate(all='ignore'):
        warnings.simplefilter('ignore', RuntimeWarning)
        yield


def natural_key(name: str) -> Tuple:
    """Sort key: digit runs compare as numbers (``'9.png' < '10.png'``)."""
    return tuple((0, int(part), '') if part.isdigit() else (1, 0, part)
                 for part in re.split(r'(\d+)', name) if part)


def prepare_frame(pred: np.ndarray,
                  gt: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """The toolbox's input normalisation of one frame.

    Args:
        pred (np.ndarray): (H, W) grey prediction, 0..255 (uint8 or float).
        gt (np.ndarray): (H, W) grey ground truth, foreground > 128.

    Returns:
        tuple: ``pred`` (H, W) float64 in [0, 1] (min-max normalised unless
        constant) and ``gt`` (H, W) bool.
    """
    pred, gt = np.asarray(pred), np.asarray(gt)
    if pred.ndim != 2 or pred.shape != gt.shape:
        raise ValueError(f'prediction {pred.shape} and ground truth '
                         f'{gt.shape} must be (H, W) maps of one size')
    gt = gt > 128
    pred = pred / 255
    if pred.max() != pred.min():
        pred = (pred - pred.min()) / (pred.max() - pred.min())
    return pred.astype(np.float64, copy=False), gt


def _s_object(values: np.ndarray) -> float:
    """Object score of one region: ``2x / (x^2 + 1 + sigma + eps)``."""
    x = np.mean(values)
    sigma = np.std(values, ddof=1)  # NaN for one pixel, as the toolbox
    return 2 * x / (x**2 + 1 + sigma + EPS)


def _ssim(pred: np.ndarray, gt: np.ndarray) -> float:
    """The S-measure's SSIM of one quadrant (variances over N - 1)."""
    n = pred.size
    x, y = np.mean(pred), np.mean(gt)
    sigma_x = np.sum((pred - x)**2) / (n - 1)
    sigma_y = np.sum((gt - y)**2) / (n - 1)
    sigma_xy = np.sum((pred - x) * (gt - y)) / (n - 1)
    alpha = 4 * x * y * sigma_xy
    beta = (x**2 + y**2) * (sigma_x + sigma_y)
    if alpha != 0:  # NaN too
        return alpha / (beta + EPS)
    return 1.0 if beta == 0 else 0.0


def s_measure(pred: np.ndarray, gt: np.ndarray, alpha: float = 0.5) -> float:
    """Structure measure of one prepared frame (:func:`prepare_frame`).

    Written here, not taken from pysodmetrics (1.6.2), because that library
    differs from the toolbox at the edges: it sets the standard deviation of
    a one-pixel region to 0 and divides quadrant variances by ``N - 1 + eps``
    (the toolbox gets NaN there), and it keeps a NaN score, which the
    toolbox's ``max(0, sm)`` turns into 0.

    Args:
        pred (np.ndarray): (H, W) float prediction in [0, 1].
        gt (np.ndarray): (H, W) bool ground truth.
        alpha (float): Weight of the object score.

    Returns:
        float: S-measure.
    """
    y = np.mean(gt)
    if y == 0:
        return float(1 - np.mean(pred))
    if y == 1:
        return float(np.mean(pred))
    with _quiet():
        obj = y * _s_object(pred[gt]) + (1 - y) * _s_object((1 - pred)[~gt])
        h, w = gt.shape
        rows, cols = np.nonzero(gt)
        # centroid rounded half to even, plus one as in the MATLAB original
        cy, cx = int(np.round(rows.mean())) + 1, int(np.round(cols.mean())) + 1
        area = h * w
        w_lt, w_rt, w_lb = cx * cy / area, cy * (w - cx) / area, \
            (h - cy) * cx / area
        w_rb = 1 - w_lt - w_rt - w_lb
        region = (w_lt * _ssim(pred[:cy, :cx], gt[:cy, :cx]) +
                  w_rt * _ssim(pred[:cy, cx:], gt[:cy, cx:]) +
                  w_lb * _ssim(pred[cy:, :cx], gt[cy:, :cx]) +
                  w_rb * _ssim(pred[cy:, cx:], gt[cy:, cx:]))
        sm = alpha * obj + (1 - alpha) * region
    # the toolbox's ``max(0, sm)``: negative and NaN scores give 0
    return float(sm) if sm > 0 else 0.0


def e_measure_curve(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """E-measure at the 256 thresholds (pysodmetrics = toolbox).

    Returns:
        np.ndarray: (256, ) float64, threshold 255 first.
    """
    em = _sod().Emeasure()
    em.step(pred, gt, normalize=False)
    return em.get_results()['em']['curve']


def f_measure_curve(pred: np.ndarray, gt: np.ndarray,
                    beta2: float = 0.3) -> np.ndarray:
    """F-measure (``beta2`` = beta^2) at the 256 thresholds.

    pysodmetrics' ``FmeasureV2`` with an ``FmeasureHandler`` computes the
    toolbox's precision (0 without a positive), recall and F (0 when the
    numerator is 0) with the same operations.

    Returns:
        np.ndarray: (256, ) float64, threshold 255 first.
    """
    sod = _sod()
    fm = sod.FmeasureV2(dict(fm=sod.FmeasureHandler(
        with_dynamic=True, with_adaptive=False, beta=beta2)))
    fm.step(pred, gt, normalize=False)
    return fm.get_results()['fm']['dynamic']


def weighted_f_measure(pred: np.ndarray, gt: np.ndarray) -> float:
    """Weighted F-measure, beta 1 (pysodmetrics = toolbox; 0 if gt empty)."""
    wfm = _sod().WeightedFmeasure(beta=1)
    wfm.step(pred, gt, normalize=False)
    return float(wfm.get_results()['wfm'])


def mae(pred: np.ndarray, gt: np.ndarray) -> float:
    """Mean absolute error (pysodmetrics = toolbox)."""
    m = _sod().MAE()
    m.step(pred, gt, normalize=False)
    return float(m.get_results()['mae'])


def medical_curves(pred: np.ndarray,
                   gt: np.ndarray) -> Dict[str, np.ndarray]:
    """Sen, Spe, Dice and IoU at the thresholds ``linspace(1, 0, 256)``.

    A pixel is positive when ``pred >= threshold`` (float, not quantised).
    Written here because pysodmetrics' handlers use the uint8 thresholds and
    return specificity where the toolbox returns 0: the toolbox sets all four
    to 0 at a threshold without a true positive, and its specificity is
    ``TN / (TN + FP)``, NaN for an all-foreground ground truth.

    Returns:
        dict[str, np.ndarray]: ``Sen``, ``Spe``, ``Dice``, ``IoU``, each
        (256, ) float64.
    """
    thr = MEDICAL_THRESHOLDS
    fg = np.sort(pred[gt], axis=None)
    every = np.sort(pred, axis=None)
    tp = fg.size - np.searchsorted(fg, thr, side='left')  # pred >= thr
    pos = every.size - np.searchsorted(every, thr, side='left')
    num_obj = fg.size
    fn, fp = num_obj - tp, pos - tp
    tn = (every.size - pos) - fn
    hit = tp > 0
    with _quiet():
        curves = dict(Sen=tp / num_obj, Spe=tn / (tn + fp),
                      Dice=2 * tp / (num_obj + pos), IoU=tp / (fn + pos))
    return {k: np.where(hit, v, 0.0) for k, v in curves.items()}


def frame_measures(pred: np.ndarray,
                   gt: np.ndarray) -> Dict[str, object]:
    """Every VPS measure of one frame.

    Args:
        pred (np.ndarray): (H, W) grey prediction 0..255 (the saved map).
        gt (np.ndarray): (H, W) grey ground truth, foreground > 128.

    Returns:
        dict: :data:`SCALAR_KEYS` -> float and :data:`CURVE_KEYS` ->
        (256, ) float64 curve.
    """
    pred, gt = prepare_frame(pred, gt)
    out = dict(Smeasure=s_measure(pred, gt),
               wFmeasure=weighted_f_measure(pred, gt), MAE=mae(pred, gt),
               Em=e_measure_curve(pred, gt), Fm=f_measure_curve(pred, gt))
    out.update(medical_curves(pred, gt))
    return out


def case_measures(frames: Sequence[Mapping[str, object]]) -> Dict[str, object]:
    """Average the frames of one case, first and last frame dropped.

    Args:
        frames (Sequence[Mapping]): :func:`frame_measures` of every frame of
            the case, in frame order (at least 3).

    Returns:
        dict: Same keys as :func:`frame_measures`, averaged over
        ``frames[1:-1]``.

    Raises:
        ValueError: Fewer than 3 frames (nothing left to score).
    """
    if len(frames) < 3:
        raise ValueError(f'a case needs at least 3 frames (the first and the '
                         f'last are not scored), got {len(frames)}')
    scored = frames[1:-1]
    with _quiet():
        out = {k: float(np.mean(np.array([f[k] for f in scored], np.float64)))
               for k in SCALAR_KEYS}
        out.update({k: np.mean(np.array([f[k] for f in scored], np.float64),
                               axis=0) for k in CURVE_KEYS})
    return out


def summarize(measures: Mapping[str, object]) -> Dict[str, float]:
    """The :data:`VPS_KEYS` of averaged scalars and curves.

    ``mean*`` / ``max*``: mean / maximum over the thresholds of a curve.
    """
    out = {}
    for key in VPS_KEYS:
        if key in SCALAR_KEYS:
            out[key] = float(measures[key])
        else:
            curve = np.asarray(measures[key[4:] if key[:4] == 'mean' else
                                        key[3:]])
            out[key] = float(curve.mean() if key[:4] == 'mean' else
                             curve.max())
    return out


def aggregate_cases(
        cases: Mapping[str, Mapping[str, object]]) -> Dict[str, float]:
    """Overall :data:`VPS_KEYS`: cases averaged, then mean/max over thresholds.

    Args:
        cases (Mapping): Case -> :func:`case_measures`.

    Returns:
        dict[str, float]: The 15 measures.
    """
    if not cases:
        raise ValueError('no case to aggregate')
    rows = list(cases.values())
    with _quiet():
        mean = {k: np.mean(np.array([r[k] for r in rows], np.float64), axis=0)
                for k in SCALAR_KEYS + CURVE_KEYS}
    return summarize(mean)


def evaluate_vps(
    cases: Mapping[str, Sequence[Tuple[np.ndarray, np.ndarray]]]
) -> Tuple[Dict[str, float], Dict[str, Dict[str, float]]]:
    """The toolbox protocol on in-memory maps.

    Args:
        cases (Mapping): Case -> (pred, gt) pairs of (H, W) grey maps in frame
            order (see :func:`frame_measures`); at least 3 frames each.

    Returns:
        tuple: Overall :data:`VPS_KEYS` and case -> :data:`VPS_KEYS`.
    """
    per_case: Dict[str, Dict[str, object]] = {}
    for case, pairs in cases.items():
        frames: List[dict] = [frame_measures(p, g) for p, g in pairs]
        per_case[case] = case_measures(frames)
    return aggregate_cases(per_case), {
        c: summarize(m) for c, m in per_case.items()}
