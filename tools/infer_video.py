"""Segment a video, a frame folder or a procedural clip with a trained model.

Example::

    python tools/infer_video.py CONFIG CHECKPOINT input.mp4 --out-dir out/
"""
import argparse

from mmvidseg.apis import VideoInferencer


def parse_args():
    parser = argparse.ArgumentParser(description='Streaming video inference')
    parser.add_argument('config', help='model config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('input', help='video file (mp4/avi/...) or folder')
    parser.add_argument('--out-dir', required=True, help='output folder')
    parser.add_argument(
        '--overlay', choices=['mp4', 'gif', 'none'], default='mp4',
        help='overlay video format')
    parser.add_argument(
        '--no-masks', action='store_true', help='do not save mask PNGs')
    parser.add_argument('--fps', type=float, help='overlay frame rate')
    parser.add_argument('--device', default='cpu', help='cpu or cuda:0')
    return parser.parse_args()


def main():
    args = parse_args()
    inferencer = VideoInferencer(args.config, args.checkpoint, args.device)
    result = inferencer(
        args.input,
        out_dir=args.out_dir,
        overlay=None if args.overlay == 'none' else args.overlay,
        save_masks=not args.no_masks,
        fps=args.fps)
    print(f"{result['num_frames']} frames; masks: {result['masks_dir']}; "
          f"overlay: {result['overlay']}")


if __name__ == '__main__':
    main()
