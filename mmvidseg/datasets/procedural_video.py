"""Deterministic procedural videos: textured moving, occluding shapes.

Used as the embedded default data (no download): every frame comes with an
exact per-pixel mask. Objects of a class share a shape, a hue and a stripe
texture, move with constant velocity, bounce off the borders and occlude each
other in a fixed depth order. A few frames per video are degraded (noise and
darkening) so that temporal context helps.
"""
import colorsys
from typing import List, Tuple

import cv2
import numpy as np

SHAPES = ('disc', 'square', 'triangle', 'diamond')


def class_names(num_classes: int) -> Tuple[str, ...]:
    """``('background', 'disc', 'square', ...)``, suffixed when repeated."""
    names = ['background']
    for c in range(1, num_classes):
        shape = SHAPES[(c - 1) % len(SHAPES)]
        rank = (c - 1) // len(SHAPES)
        names.append(shape if rank == 0 else f'{shape}{rank + 1}')
    return tuple(names)


def class_palette(num_classes: int) -> List[List[int]]:
    """RGB colour per class used for overlays (background black).

    Hues are offset from the objects' own colours so overlays stand out.
    """
    palette = [[0, 0, 0]]
    for c in range(1, num_classes):
        h = ((c - 1) / max(num_classes - 1, 1) + 0.5) % 1.0
        r, g, b = colorsys.hsv_to_rgb(h, 0.9, 1.0)
        palette.append([int(255 * r), int(255 * g), int(255 * b)])
    return palette


def _polygon(shape: str, cx: float, cy: float, r: float,
             angle: float) -> np.ndarray:
    if shape == 'square':
        k = 4
        start = angle + np.pi / 4
    elif shape == 'triangle':
        k = 3
        start = angle
    else:  # diamond
        k = 4
        start = angle
        r = r * 1.15
    t = start + 2 * np.pi * np.arange(k) / k
    pts = np.stack([cx + r * np.cos(t), cy + r * np.sin(t)], axis=1)
    return np.round(pts * 16).astype(np.int32)


def render_video(seed: int,
                 num_frames: int,
                 size: Tuple[int, int] = (96, 96),
                 num_classes: int = 4,
                 max_objects: int = 4,
                 degrade_prob: float = 0.15
                 ) -> Tuple[List[np.ndarray], List[np.ndarray]]:
    """Render one video.

    Args:
        seed (int): Seed of this video (same seed, same video).
        num_frames (int): Number of frames.
        size (tuple[int, int]): Frame size ``(H, W)``.
        num_classes (int): Classes including background (>= 2).
        max_objects (int): At most this many objects per video.
        degrade_prob (float): Probability that a frame is degraded.

    Returns:
        tuple[list[np.ndarray], list[np.ndarray]]: BGR uint8 frames of shape
        (H, W, 3) and uint8 masks of shape (H, W) with class ids.
    """
    if num_classes < 2:
        raise ValueError('num_classes must be >= 2 (background + 1)')
    if num_frames < 1:
        raise ValueError('num_frames must be >= 1')
    h, w = size
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)

    # Background: smooth two-colour gradient with fine grain, drifting.
    bg_a = rng.uniform(40, 120, 3)
    bg_b = rng.uniform(40, 120, 3)
    bg_dir = rng.uniform(0, 2 * np.pi)
    grain = rng.normal(0, 6, (h, w, 1)).astype(np.float32)

    n_obj = int(rng.integers(2, max_objects + 1))
    objs = []
    for _ in range(n_obj):
        cls = int(rng.integers(1, num_classes))
        r = float(rng.uniform(0.1, 0.2) * min(h, w))
        objs.append(
            dict(
                cls=cls,
                shape=SHAPES[(cls - 1) % len(SHAPES)],
                r=r,
                pos=np.array([rng.uniform(r, w - r),
                              rng.uniform(r, h - r)]),
                vel=rng.uniform(-0.04, 0.04, 2) * np.array([w, h]),
                angle=float(rng.uniform(0, 2 * np.pi)),
                spin=float(rng.uniform(-0.1, 0.1))))
    degraded = rng.random(num_frames) < degrade_prob
    degraded[0] = False

    frames, masks = [], []
    for t in range(num_frames):
        phase = t * 0.05
        g = (np.cos(bg_dir) * xx / w + np.sin(bg_dir) * yy / h + phase) % 1.0
        img = (bg_a * g[..., None] + bg_b * (1 - g[..., None]) + grain)
        mask = np.zeros((h, w), np.uint8)
        for o in objs:  # later objects occlude earlier ones
            layer = np.zeros((h, w), np.uint8)
            cx, cy = o['pos']
            if o['shape'] == 'disc':
                cv2.circle(layer, (int(round(cx * 16)), int(round(cy * 16))),
                           int(round(o['r'] * 16)), 1, -1, cv2.LINE_8, 4)
            else:
                cv2.fillPoly(layer, [_polygon(o['shape'], cx, cy, o['r'],
                                              o['angle'])], 1, cv2.LINE_8, 4)
            inside = layer.astype(bool)
            hue = (o['cls'] - 1) / max(num_classes - 1, 1)
            rgb = np.array(colorsys.hsv_to_rgb(hue, 0.8, 0.95)) * 255
            freq = 0.25 + 0.1 * ((o['cls'] - 1) % 3)
            stripes = 0.75 + 0.25 * np.sign(np.sin(freq * (xx + yy)))
            tex = rgb[::-1][None, None, :] * stripes[..., None]  # BGR
            img[inside] = tex[inside]
            mask[inside] = o['cls']
            # advance
            o['pos'] = o['pos'] + o['vel']
            for k, lim in ((0, w), (1, h)):
                if not o['r'] <= o['pos'][k] <= lim - o['r']:
                    o['vel'][k] = -o['vel'][k]
                    o['pos'][k] = np.clip(o['pos'][k], o['r'], lim - o['r'])
            o['angle'] += o['spin']
        if degraded[t]:
            img = 0.45 * img + rng.normal(0, 35, img.shape)
        frames.append(np.clip(img, 0, 255).astype(np.uint8))
        masks.append(mask)
    return frames, masks
