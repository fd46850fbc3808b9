"""Extract every frame of the CamVid videos into ``images_sequence``.

Reads the raw videos (``.MXF``/``.avi``/``.mp4``) of a folder and writes
``<out>/images_sequence/<video stem>_<frame:06d>.png`` for every frame of
every video, e.g. ``python tools/dataset_converters/camvid_video_to_frames.py
data/camvid/raw data/camvid``. Frames already extracted are kept, so the tool
can be re-run after an interruption.
"""
import argparse

from mmvidseg.datasets.converters import extract_camvid_videos
from mmvidseg.datasets.converters.camvid import VIDEO_EXTENSIONS


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='CamVid videos -> images_sequence frames')
    parser.add_argument('video_dir', help='folder of the raw videos')
    parser.add_argument('out', help='dataset root; frames go to '
                        '<out>/images_sequence')
    parser.add_argument('--ext', nargs='+', default=list(VIDEO_EXTENSIONS),
                        help='video file extensions (case-insensitive)')
    parser.add_argument('--overwrite', action='store_true',
                        help='rewrite frames that were already extracted')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    counts = extract_camvid_videos(
        args.video_dir, args.out, extensions=args.ext,
        skip_existing=not args.overwrite)
    for stem, n in counts.items():
        print(f'{stem}: {n} frames')


if __name__ == '__main__':
    main()
