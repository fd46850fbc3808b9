"""Single-class label corruptions of MS-TFAL's synthetic noisy labels.

Each operation takes the binary mask of one class in one frame, (H, W)
bool, and returns the corrupted binary mask, (H, W) bool. They follow
``generate_noise/noisy_type.py`` of MS-TFAL (commit 538475e), re-written
from its maths:

- ``dilate`` / ``erode``: ``cv2.dilate`` / ``cv2.erode`` (OpenCV's default
  border, so erosion does not eat in from the image border) with the disk
  kernel ``{(i, j): ||(i, j) - (r, r)|| <= r}`` of size ``2r + 1``.
- ``affine``: every 8-connected component is moved by its own random
  rotation/translation/scale, drawn and applied as torchvision's
  ``RandomAffine(degrees=(-30, 30), translate=(0, 0.2), scale=(0.8, 1.2))``
  on a tensor (nearest, zero fill, rotation about the image centre).
  torchvision reads ``translate=(a, b)`` as *horizontal* fraction ``a`` of
  the width and *vertical* fraction ``b`` of the height, so the original's
  ``(0, 0.2)`` gives **no horizontal and up to 20 % vertical** shift.
- ``polygon``: every 8-connected component has its holes filled, its outer
  contour reduced to ``num_rays`` points at ``int(linspace(0, n - 1,
  num_rays))`` (the first and last are neighbours), each point jittered by
  uniform integers in ``+-int(0.2 * extent)`` where the extent is that of
  the *chosen points'* bounding box, clipped to the image and filled.
"""
import math
from typing import Sequence, Tuple

import cv2
import numpy as np

NOISE_TYPES = ('dilate', 'erode', 'affine', 'polygon')


def disk_kernel(radius: int) -> np.ndarray:
    """The (2r+1, 2r+1) uint8 disk: 1 where ``||(i, j) - (r, r)|| <= r``."""
    if radius < 0:
        raise ValueError(f'radius must be >= 0, got {radius}')
    offsets = np.arange(2 * radius + 1) - radius
    dist2 = offsets[:, None]**2 + offsets[None, :]**2
    return (dist2 <= radius * radius).astype(np.uint8)


def _within_radius(dist: np.ndarray, radius: int) -> np.ndarray:
    """``dist <= radius`` for Euclidean distances between pixel centres.

    Squared distances are integers, so a margin of 0.5 on the square
    absorbs the float32 error of ``cv2.distanceTransform``.
    """
    return dist.astype(np.float64)**2 <= radius * radius + 0.5


def dilate_mask(mask: np.ndarray, radius: int) -> np.ndarray:
    """Dilate a (H, W) binary mask with :func:`disk_kernel`.

    Equal to ``cv2.dilate(mask, disk_kernel(radius))`` and computed as
    "Euclidean distance to the mask <= radius" (exact distance transform),
    which is much faster for radii of 40-50 pixels.
    """
    mask = mask.astype(bool)
    if not mask.any():
        return mask.copy()
    dist = cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2,
                                 cv2.DIST_MASK_PRECISE)
    return _within_radius(dist, radius)


def erode_mask(mask: np.ndarray, radius: int) -> np.ndarray:
    """Erode a (H, W) binary mask with :func:`disk_kernel`.

    Equal to ``cv2.erode(mask, disk_kernel(radius))`` with OpenCV's default
    border, which counts as foreground: a region touching the image border
    is not eroded from that side (as in the original). Computed as
    "Euclidean distance to the nearest background pixel > radius".
    """
    mask = mask.astype(bool)
    if mask.all():
        return mask.copy()
    dist = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2,
                                 cv2.DIST_MASK_PRECISE)
    return ~_within_radius(dist, radius)


def components(mask: np.ndarray) -> Tuple[int, np.ndarray]:
    """8-connected components: ``(count, (H, W) int32 ids 1..count)``."""
    num, ids = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    return num - 1, ids


def sample_affine_params(
        rng: np.random.Generator,
        shape: Sequence[int],
        max_rotation: float = 30.,
        translate: Sequence[float] = (0., 0.2),
        max_rescale: float = 0.2) -> Tuple[float, Tuple[float, float], float]:
    """Draw ``(angle, (tx, ty), scale)`` as ``RandomAffine.get_params``.

    ``angle ~ U(-max_rotation, max_rotation)`` degrees; ``tx`` / ``ty`` are
    ``U(-f * size, f * size)`` rounded half-to-even to whole pixels with
    ``f = translate[0]`` of the width / ``translate[1]`` of the height;
    ``scale ~ U(1 - max_rescale, 1 + max_rescale)``. Drawn in that order.
    """
    h, w = shape[:2]
    angle = float(rng.uniform(-max_rotation, max_rotation))
    max_dx, max_dy = translate[0] * w, translate[1] * h
    tx = float(np.rint(rng.uniform(-max_dx, max_dx)))
    ty = float(np.rint(rng.uniform(-max_dy, max_dy)))
    scale = float(rng.uniform(1 - max_rescale, 1 + max_rescale))
    return angle, (tx, ty), scale


def affine_warp(mask: np.ndarray, angle: float, translate: Sequence[float],
                scale: float) -> np.ndarray:
    """Warp a (H, W) mask as torchvision's tensor ``F.affine`` (nearest).

    Output pixel ``p`` (relative to the centre ``c = ((W-1)/2, (H-1)/2)``)
    reads the input at ``R(angle)^-1 (p - t) / scale + c`` rounded half to
    even; outside the image reads 0. Computed in float64 (torchvision uses
    float32: the two can differ on exact rounding ties).
    """
    h, w = mask.shape
    out = np.zeros(mask.shape, dtype=mask.dtype)
    rows, cols = np.nonzero(mask)
    if rows.size == 0:
        return out
    rot = math.radians(angle)
    cos, sin = math.cos(rot) / scale, math.sin(rot) / scale
    cx, cy = (w - 1) / 2, (h - 1) / 2
    # output window: forward image of the input's bounding box (+ margin)
    fwd = np.array([[cos, -sin], [sin, cos]]) * scale * scale
    corners = np.array(
        [[cols.min(), rows.min()], [cols.max(), rows.min()],
         [cols.min(), rows.max()], [cols.max(), rows.max()]],
        dtype=np.float64) - (cx, cy)
    mapped = corners @ fwd.T + (cx + translate[0], cy + translate[1])
    x0, y0 = np.maximum(np.floor(mapped.min(axis=0)) - 2, 0).astype(int)
    x1 = int(min(np.ceil(mapped[:, 0].max()) + 3, w))
    y1 = int(min(np.ceil(mapped[:, 1].max()) + 3, h))
    if x0 >= x1 or y0 >= y1:
        return out
    x = np.arange(x0, x1, dtype=np.float64)[None, :] - cx - translate[0]
    y = np.arange(y0, y1, dtype=np.float64)[:, None] - cy - translate[1]
    src_x = np.rint(cos * x + sin * y + cx).astype(np.int64)
    src_y = np.rint(-sin * x + cos * y + cy).astype(np.int64)
    valid = (src_x >= 0) & (src_x < w) & (src_y >= 0) & (src_y < h)
    window = np.zeros(valid.shape, dtype=mask.dtype)
    window[valid] = mask[src_y[valid], src_x[valid]]
    out[y0:y1, x0:x1] = window
    return out


def affine_components(mask: np.ndarray,
                      rng: np.random.Generator,
                      max_rotation: float = 30.,
                      translate: Sequence[float] = (0., 0.2),
                      max_rescale: float = 0.2) -> np.ndarray:
    """Move every 8-connected component by its own random affine.

    Parameters are drawn per call and per component (ascending component
    id, i.e. raster order of first pixels) with
    :func:`sample_affine_params`, so they are *not* shared by the frames of
    a segment (as in the original).
    """
    num, ids = components(mask)
    out = np.zeros(mask.shape, dtype=bool)
    for k in range(1, num + 1):
        angle, shift, scale = sample_affine_params(rng, mask.shape,
                                                   max_rotation, translate,
                                                   max_rescale)
        out |= affine_warp(ids == k, angle, shift, scale)
    return out


def fill_holes(mask: np.ndarray, mode: str = 'corner') -> np.ndarray:
    """Fill the holes of a (H, W) binary mask.

    Args:
        mask (np.ndarray): (H, W) binary mask.
        mode (str): ``'corner'`` (the original): flood the background from
            pixel (0, 0) (4-connected) and fill all it does not reach, so a
            mask touching (0, 0) fills the whole image and background cut
            off from that corner is filled too; ``'border'``: fill only
            background not 4-connected to any image border pixel.
    """
    if mode not in ('corner', 'border'):
        raise ValueError(f"hole-fill mode must be 'corner' or 'border', "
                         f'got {mode!r}')
    img = mask.astype(np.uint8) * 255
    if mode == 'border':
        img = np.pad(img, 1)
    flood = img.copy()
    h, w = img.shape
    cv2.floodFill(flood, np.zeros((h + 2, w + 2), np.uint8), (0, 0), 255)
    filled = (img > 0) | (flood == 0)
    return filled[1:-1, 1:-1] if mode == 'border' else filled


def polygon_component(mask: np.ndarray,
                      num_rays: int,
                      rng: np.random.Generator,
                      shift_ratio: float = 0.2,
                      hole_fill: str = 'corner') -> np.ndarray:
    """Replace one connected mask by a jittered ``num_rays``-gon.

    Args:
        mask (np.ndarray): (H, W) binary mask of one component.
        num_rays (int): Points kept on the outer contour.
        rng (np.random.Generator): Draws the x jitters, then the y ones.
        shift_ratio (float): Jitter range as a fraction of the points'
            bounding box; 0 keeps the points.
        hole_fill (str): See :func:`fill_holes`.

    Returns:
        np.ndarray: (H, W) bool polygon mask.
    """
    h, w = mask.shape
    filled = fill_holes(mask, hole_fill).astype(np.uint8)
    contours, _ = cv2.findContours(filled, cv2.RETR_EXTERNAL,
                                   cv2.CHAIN_APPROX_NONE)
    contour = max(contours, key=len)[:, 0, :]  # (N, 2) x, y
    index = np.linspace(0, len(contour) - 1, num_rays).astype(np.int64)
    points = contour[index].astype(np.int64)
    if shift_ratio > 0:
        extent = points.max(axis=0) - points.min(axis=0)
        rx, ry = (int(shift_ratio * e) for e in extent)
        shifts = np.stack([
            rng.integers(-rx, rx + 1, len(points)),
            rng.integers(-ry, ry + 1, len(points))
        ],
                          axis=1)
        points = points + shifts
        points[:, 0] = np.clip(points[:, 0], 0, w - 1)
        points[:, 1] = np.clip(points[:, 1], 0, h - 1)
    out = np.zeros((h, w), np.uint8)
    cv2.fillPoly(out, [points.astype(np.int32)[:, None, :]], 1)
    return out > 0


def polygon_components(mask: np.ndarray,
                       num_rays: int,
                       rng: np.random.Generator,
                       shift_ratio: float = 0.2,
                       hole_fill: str = 'corner') -> np.ndarray:
    """:func:`polygon_component` on every 8-connected component (union)."""
    num, ids = components(mask)
    out = np.zeros(mask.shape, dtype=bool)
    for k in range(1, num + 1):
        out |= polygon_component(ids == k, num_rays, rng, shift_ratio,
                                 hole_fill)
    return out
