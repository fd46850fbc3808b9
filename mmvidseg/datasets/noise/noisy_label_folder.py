"""Write a noisy copy of a folder of class-id label videos (MS-TFAL).

Layout: ``<src>/<video>/<label_subdir>/*.png`` (EndoVis18:
``train/seq_x/class_labels/frameXXX.png``) is written to the same relative
paths under ``<dst>``. ``int(num_videos * ratio)`` videos, chosen at random,
are corrupted by :func:`~.video_noise.noise_video`; the others are copied
byte for byte. Everything derives from one seed: the video choice from
``default_rng([seed, 0])``, each video's noise from
``default_rng([seed, 1, *utf8(video name)])``, so results do not depend on
the number of worker processes or on the order videos are processed in.
"""
import json
import os
import os.path as osp
from dataclasses import asdict
from multiprocessing import Pool
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image
from tqdm import tqdm

from mmvidseg.utils.io import atomic_write_bytes, atomic_write_mask

from .video_noise import (NoiseConfig, add_counts, count_noise, noise_ratios,
                          noise_video, type_counts)


def video_rng(seed: int, video: str) -> np.random.Generator:
    """The generator of one video: ``default_rng([seed, 1, *utf8(video)])``.
    """
    return np.random.default_rng([seed, 1, *video.encode('utf-8')])


def choose_noisy_videos(videos: Sequence[str], ratio: float,
                        seed: int) -> List[str]:
    """``int(len(videos) * ratio)`` of the sorted ``videos``, sorted."""
    if not 0 <= ratio <= 1:
        raise ValueError(f'noise ratio must be in [0, 1], got {ratio}')
    names = sorted(videos)
    rng = np.random.default_rng([seed, 0])
    index = rng.choice(len(names), int(len(names) * ratio), replace=False)
    return [names[i] for i in sorted(index)]


def find_label_videos(src: str,
                      label_subdir: str = 'class_labels'
                      ) -> Dict[str, List[str]]:
    """Sorted ``*.png`` names of each ``<src>/<video>/<label_subdir>``.

    Sub-folders of ``src`` without a ``label_subdir`` holding PNGs are
    skipped.

    Raises:
        FileNotFoundError: ``src`` is missing or holds no label video.
    """
    if not osp.isdir(src):
        raise FileNotFoundError(f'label folder {src!r} not found')
    videos = {}
    for name in sorted(os.listdir(src)):
        folder = osp.join(src, name, label_subdir)
        if not osp.isdir(folder):
            continue
        frames = sorted(f for f in os.listdir(folder)
                        if f.lower().endswith('.png'))
        if frames:
            videos[name] = frames
    if not videos:
        raise FileNotFoundError(
            f'no label videos <video>/{label_subdir or "."}/*.png under '
            f'{src!r}')
    return videos


def read_label(path: str) -> Tuple[np.ndarray, Optional[List[int]]]:
    """Read an 8-bit class-id PNG (greyscale or palette).

    Returns:
        tuple: (H, W) uint8 ids and the palette (None for greyscale).

    Raises:
        OSError: The file cannot be decoded.
        ValueError: It is not a single-channel 8-bit image.
    """
    try:
        with Image.open(path) as img:
            img.load()
            mode, palette = img.mode, img.getpalette()
            ids = np.asarray(img)
    except Exception as e:  # PIL raises several error types
        raise OSError(f'cannot decode label {path!r}: {e}') from e
    if mode not in ('L', 'P'):
        raise ValueError(f'label {path!r} is a {mode} image; expected an '
                         '8-bit class-id map (greyscale or palette PNG)')
    return ids.astype(np.uint8), palette if mode == 'P' else None


def process_video(task: tuple) -> Tuple[str, dict]:
    """Noise (or copy) one video; return ``(video, summary)``.

    ``task``: ``(src, dst, label_subdir, video, frames, noised, seed,
    cfg)``.
    """
    src, dst, subdir, video, frames, noised, seed, cfg = task
    in_dir, out_dir = osp.join(src, video,
                               subdir), osp.join(dst, video, subdir)
    summary = dict(noised=noised, frames=len(frames))
    if not noised:
        for name in frames:
            with open(osp.join(in_dir, name), 'rb') as f:
                atomic_write_bytes(osp.join(out_dir, name), f.read())
        counts = {}
        for name in frames:
            clean, _ = read_label(osp.join(in_dir, name))
            add_counts(counts, count_noise(clean, clean, cfg.background))
        summary.update(counts=counts,
                       **noise_ratios(counts),
                       noise_types=type_counts([]),
                       segments=[])
        return video, summary
    read = [read_label(osp.join(in_dir, name)) for name in frames]
    labels = [ids for ids, _ in read]
    noisy, records = noise_video(labels, video_rng(seed, video), cfg)
    counts = {}
    for name, (clean, palette), out in zip(frames, read, noisy):
        atomic_write_mask(osp.join(out_dir, name), out, palette)
        add_counts(counts, count_noise(clean, out, cfg.background))
    for record in records:
        record['frame_names'] = frames[record['start']:record['start'] +
                                       record['length']]
    summary.update(counts=counts,
                   **noise_ratios(counts),
                   noise_types=type_counts(records),
                   segments=records)
    return video, summary


def generate_noisy_labels(src: str,
                          dst: str,
                          ratio: float = 0.5,
                          seed: int = 314,
                          nproc: int = 1,
                          label_subdir: str = 'class_labels',
                          cfg: Optional[NoiseConfig] = None,
                          summary_path: Optional[str] = None,
                          progress: bool = True) -> dict:
    """Write the noisy copy of ``src`` to ``dst`` and summarise it.

    Args:
        src (str): Root of the clean label videos.
        dst (str): Output root (same layout); must differ from ``src``.
        ratio (float): Fraction of videos to corrupt (floored count).
        seed (int): Non-negative seed of everything.
        nproc (int): Worker processes, whole videos each.
        label_subdir (str): Label folder inside each video ('' for none).
        cfg (NoiseConfig, optional): Noise parameters (the original's).
        summary_path (str, optional): Also write the summary JSON there.
        progress (bool): Show a progress bar (videos).

    Returns:
        dict: ``seed``, ``ratio``, ``config``, ``noisy_videos``,
        ``clean_videos``, ``overall`` (summed counts, :func:`noise_ratios`,
        ``noise_types``) and ``videos`` (the same per video, plus its
        segment records).
    """
    cfg = cfg or NoiseConfig()
    if seed < 0:
        raise ValueError(f'seed must be >= 0, got {seed}')
    if osp.realpath(src) == osp.realpath(dst):
        raise ValueError(f'output folder {dst!r} is the input folder')
    videos = find_label_videos(src, label_subdir)
    noisy_videos = choose_noisy_videos(list(videos), ratio, seed)
    tasks = [(src, dst, label_subdir, name, frames, name
              in noisy_videos, seed, cfg) for name, frames in videos.items()]
    bar = tqdm(total=len(tasks), disable=not progress, unit='video')
    results = {}
    if nproc > 1 and len(tasks) > 1:
        with Pool(min(nproc, len(tasks))) as pool:
            for video, summary in pool.imap_unordered(process_video, tasks):
                results[video] = summary
                bar.update()
    else:
        for task in tasks:
            video, summary = process_video(task)
            results[video] = summary
            bar.update()
    bar.close()
    per_video = {name: results[name] for name in videos}
    counts: dict = {}
    draws = {'draws': {}, 'masks': {}}
    for summary in per_video.values():
        add_counts(counts, summary['counts'])
        for key in draws:
            for t, n in summary['noise_types'][key].items():
                draws[key][t] = draws[key].get(t, 0) + n
    report = dict(seed=seed,
                  ratio=ratio,
                  config=asdict(cfg),
                  noisy_videos=noisy_videos,
                  clean_videos=[v for v in videos if v not in noisy_videos],
                  overall=dict(videos=len(videos),
                               frames=sum(len(f) for f in videos.values()),
                               counts=counts,
                               **noise_ratios(counts),
                               noise_types=draws),
                  videos=per_video)
    if summary_path:
        atomic_write_bytes(summary_path, summary_to_json(report).encode())
    return report


def summary_to_json(report: dict, segments: bool = True) -> str:
    """The summary as indented JSON (class ids become string keys).

    Args:
        report (dict): From :func:`generate_noisy_labels`.
        segments (bool): Keep the per-video segment records.
    """
    if not segments:
        report = dict(report,
                      videos={
                          name: {
                              k: v
                              for k, v in video.items() if k != 'segments'
                          }
                          for name, video in report['videos'].items()
                      })
    return json.dumps(report, indent=2)
