"""Segment videos with a trained model, or propagate a first-frame mask.

Examples::

    # semantic segmentation (masks/<frame>.png + overlay.mp4)
    python tools/infer_video.py CONFIG CHECKPOINT input.mp4 --out-dir out/
    # mask propagation from the mask of the first frame (palette PNGs)
    python tools/infer_video.py configs/label_propagation/CONFIG none \\
        input.mp4 --first-mask first.png --out-dir out/
    # every video of a folder (one output folder per video); first masks
    # as masks/<video>.png or masks/<video>/<frame>.png
    python tools/infer_video.py CONFIG CKPT videos/ --first-mask masks/ \\
        --out-dir out/
"""
import argparse
import os

from mmvidseg.apis import VideoInferencer, check_sources
from mmvidseg.utils.checkpoint_compat import allow_safe_globals
from mmvidseg.utils.cli import (add_debug_arg, add_safe_globals_arg,
                                report_errors)
from mmvidseg.utils.runner_helpers import load_run_config


def parse_args():
    parser = argparse.ArgumentParser(description='Streaming video inference')
    parser.add_argument('config', help='model config file')
    parser.add_argument(
        'checkpoint',
        help='checkpoint file, or "none" for models that bring their own '
        'weights (label propagation configs)')
    parser.add_argument(
        'input', help='video file (mp4/avi/...), frame folder, or a folder '
        'of videos / frame folders')
    parser.add_argument('--out-dir', required=True, help='output folder')
    parser.add_argument(
        '--first-mask',
        help='mask of the first frame (palette/indexed or greyscale PNG) '
        'for mask-propagation models; for a folder of videos, a folder of '
        '<video>.png or <video>/<frame>.png')
    parser.add_argument(
        '--mask', nargs=2, action='append', metavar=('FRAME', 'PNG'),
        default=[], help='a mask given at a later frame index (repeatable); '
        'added to the permanent memory')
    parser.add_argument(
        '--overlay', choices=['mp4', 'gif', 'none'], default='mp4',
        help='overlay video format')
    parser.add_argument(
        '--no-masks', action='store_true', help='do not save mask PNGs')
    parser.add_argument('--fps', type=float, help='overlay frame rate')
    parser.add_argument('--device', default='cpu', help='cpu or cuda:0')
    add_safe_globals_arg(parser)
    add_debug_arg(parser)
    return parser.parse_args()


def _summary(name, result):
    return (f"{name}: {result['num_frames']} frames; masks: "
            f"{result['masks_dir']}; overlay: {result['overlay']}")


def main():
    args = parse_args()
    if not args.debug:
        # our one-line error replaces FFmpeg's ("moov atom not found")
        os.environ.setdefault('OPENCV_FFMPEG_LOGLEVEL', '8')
    with report_errors('infer_video.py', args.debug):
        allow_safe_globals(args.safe_globals)
        cfg = load_run_config(args.config)
        checkpoint = None if args.checkpoint.lower() == 'none' \
            else args.checkpoint
        given = {}
        for frame, path in args.mask:
            if not frame.isdigit():
                raise ValueError(f'--mask frame index {frame!r} is not a '
                                 'non-negative integer')
            given[int(frame)] = path
        check_sources(args.input)  # before the (slow) model build
        inferencer = VideoInferencer(cfg, checkpoint, args.device)
        result = inferencer(
            args.input,
            out_dir=args.out_dir,
            overlay=None if args.overlay == 'none' else args.overlay,
            save_masks=not args.no_masks,
            fps=args.fps,
            first_mask=args.first_mask,
            given_masks=given or None)
        for name, res in result.get('videos', {'video': result}).items():
            print(_summary(name, res))


if __name__ == '__main__':
    main()
