"""Write a procedural test video (moving textured shapes) as MP4 or frames."""
import argparse
import os.path as osp

from mmvidseg.apis.overlay_writer import OverlayWriter
from mmvidseg.datasets.procedural_video import render_video
from mmvidseg.utils.cli import add_debug_arg, report_errors
from mmvidseg.utils.io import atomic_imwrite


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('out', help='output .mp4 file, or a folder')
    parser.add_argument('--frames', type=int, default=48)
    parser.add_argument('--size', type=int, nargs=2, default=(96, 96),
                        metavar=('H', 'W'))
    parser.add_argument('--num-classes', type=int, default=4)
    parser.add_argument('--seed', type=int, default=12345)
    add_debug_arg(parser)
    args = parser.parse_args()
    with report_errors('make_procedural_video.py', args.debug):
        write(args)


def write(args):
    frames, masks = render_video(args.seed, args.frames, tuple(args.size),
                                 args.num_classes)
    if args.out.lower().endswith('.mp4'):
        writer = OverlayWriter(args.out, fps=10)
        for frame in frames:
            writer.write(frame)
        writer.close()
    else:
        for i, (frame, mask) in enumerate(zip(frames, masks)):
            atomic_imwrite(osp.join(args.out, 'frames', f'{i:05d}.png'), frame)
            atomic_imwrite(osp.join(args.out, 'masks', f'{i:05d}.png'), mask)
    print(f'wrote {len(frames)} frames to {args.out}')


if __name__ == '__main__':
    main()
