"""Generate MS-TFAL synthetic noisy labels from clean class-id label videos.

Reads ``SRC/<video>/<label-subdir>/*.png`` (8-bit class ids, greyscale or
palette) and writes the same layout under ``DST``: ``int(videos * ratio)``
randomly chosen videos get temporally coherent noise (segments of 3-6
frames share, per class, one of dilate / erode / affine / polygon with one
radius and ray count; background is never noised; the thread class gets no
polygon), the others are copied unchanged. One seed fixes everything,
whatever ``--nproc``. The summary (noise ratios per video and overall, per
noise type counts) is printed as JSON and written, with each video's
segments, to ``--summary`` (default ``DST/noisy_labels_summary.json``).
Example, for EndoVis18 (``train/seq_x/class_labels/frameXXX.png``)::

    python tools/generate_noisy_labels.py data/endovis18/train \\
        data/endovis18/train_noisy_v0 --ratio 0.5 --seed 314 --nproc 8
"""
import argparse
import os.path as osp
from typing import List, Optional

from mmvidseg.datasets.noise import (NoiseConfig, generate_noisy_labels,
                                     summary_to_json)
from mmvidseg.utils.cli import report_errors


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split('\n', 1)[1])
    parser.add_argument('src', help='root of the clean label videos')
    parser.add_argument('dst', help='root of the noisy copy')
    parser.add_argument('--ratio',
                        type=float,
                        default=0.5,
                        help='fraction of videos to corrupt (default 0.5)')
    parser.add_argument('--seed', type=int, default=314)
    parser.add_argument('--nproc',
                        type=int,
                        default=1,
                        help='worker processes (whole videos each)')
    parser.add_argument('--thread-class',
                        type=int,
                        default=6,
                        help='class never given polygon noise; -1: none')
    parser.add_argument('--label-subdir',
                        default='class_labels',
                        help="label folder inside each video ('' for none)")
    parser.add_argument('--radius',
                        type=int,
                        nargs=2,
                        default=(40, 50),
                        metavar=('LOW', 'HIGH'))
    parser.add_argument('--num-rays',
                        type=int,
                        nargs=2,
                        default=(4, 8),
                        metavar=('LOW', 'HIGH'))
    parser.add_argument('--max-rotation', type=float, default=30.)
    parser.add_argument('--translate',
                        type=float,
                        nargs=2,
                        default=(0., 0.2),
                        metavar=('FX', 'FY'),
                        help='affine shift range as fractions of width and '
                        'height (default: the original\'s 0 0.2, vertical '
                        'only)')
    parser.add_argument('--max-rescale', type=float, default=0.2)
    parser.add_argument('--hole-fill',
                        choices=('corner', 'border'),
                        default='corner',
                        help="polygon hole filling: 'corner' floods from "
                        "pixel (0, 0) as the original; 'border' fills only "
                        'enclosed background')
    parser.add_argument('--summary',
                        help='summary JSON path (default '
                        'DST/noisy_labels_summary.json)')
    parser.add_argument('--no-progress', action='store_true')
    parser.add_argument('--debug',
                        action='store_true',
                        help='show the traceback of an error')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    with report_errors('generate_noisy_labels.py', args.debug):
        cfg = NoiseConfig(
            radius=tuple(args.radius),
            num_rays=tuple(args.num_rays),
            max_rotation=args.max_rotation,
            translate=tuple(args.translate),
            max_rescale=args.max_rescale,
            hole_fill=args.hole_fill,
            thread_class=None if args.thread_class < 0 else args.thread_class)
        summary_path = args.summary or osp.join(args.dst,
                                                'noisy_labels_summary.json')
        report = generate_noisy_labels(args.src,
                                       args.dst,
                                       ratio=args.ratio,
                                       seed=args.seed,
                                       nproc=args.nproc,
                                       label_subdir=args.label_subdir,
                                       cfg=cfg,
                                       summary_path=summary_path,
                                       progress=not args.no_progress)
    print(summary_to_json(report, segments=False))


if __name__ == '__main__':
    main()
