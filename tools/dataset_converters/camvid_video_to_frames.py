"""Extract every frame of the CamVid videos into ``images_sequence``.

Reads the raw videos (``.MXF``/``.avi``/``.mp4``) of a folder and writes
every frame of every video to ``<out>/images_sequence/``, e.g.::

    python tools/dataset_converters/camvid_video_to_frames.py \\
        data/camvid/raw data/camvid --naming tmanet --check-alignment

``--naming tmanet`` names the frames as TMANet's ``camvid_video_process.py``
(``Seq05VD_f<n:05d>``, ``0006R0_f<n:05d>``, ``0016E5_<n:05d>`` from -1,
``0001TP_<n:06d>`` from 6660), i.e. as the CamVid labels;
``--naming stem`` (default) writes ``<video stem>_<frame:06d>.png``.
``--check-alignment`` then compares each labelled ``<out>/images/<name>``
with the extracted frames around its number and prints a table per video
(exit status 1 when some do not line up); ``--check-only`` skips the
extraction. Frames already extracted are kept, so the tool can be re-run
after an interruption.
"""
import argparse
import sys

from mmvidseg.datasets.converters import (alignment_problems,
                                          check_camvid_alignment,
                                          extract_camvid_videos,
                                          format_alignment_table)
from mmvidseg.datasets.converters.camvid import NAMINGS, VIDEO_EXTENSIONS
from mmvidseg.utils.cli import add_debug_arg, report_errors

PROG = 'camvid_video_to_frames.py'


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=PROG, description='CamVid videos -> images_sequence frames')
    parser.add_argument('video_dir', help='folder of the raw videos')
    parser.add_argument('out', help='dataset root; frames go to '
                        '<out>/images_sequence')
    parser.add_argument('--ext', nargs='+', default=list(VIDEO_EXTENSIONS),
                        help='video file extensions (case-insensitive)')
    parser.add_argument('--naming', choices=NAMINGS, default='stem',
                        help="frame names: 'tmanet' matches the CamVid "
                        'labels (TMANet offsets), default: video stem')
    parser.add_argument('--overwrite', action='store_true',
                        help='rewrite frames that were already extracted')
    parser.add_argument('--check-alignment', action='store_true',
                        help='compare <out>/images/* with the extracted '
                        'frames afterwards')
    parser.add_argument('--check-only', action='store_true',
                        help='only check the alignment (video_dir unused)')
    parser.add_argument('--max-offset', type=int, default=3,
                        help='offsets tried by the alignment check')
    add_debug_arg(parser)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    with report_errors(PROG, args.debug):
        if not args.check_only:
            counts = extract_camvid_videos(
                args.video_dir, args.out, extensions=args.ext,
                skip_existing=not args.overwrite, naming=args.naming)
            for stem, n in counts.items():
                print(f'{stem}: {n} frames')
        if not (args.check_alignment or args.check_only):
            return
        rows = check_camvid_alignment(args.out, max_offset=args.max_offset)
        print(format_alignment_table(rows))
        problems = alignment_problems(rows)
    if problems:
        sys.exit(f'{PROG}: error: frames do not line up with the labelled '
                 'images: ' + '; '.join(problems))
    print('all labelled images line up with the extracted frames')


if __name__ == '__main__':
    main()
