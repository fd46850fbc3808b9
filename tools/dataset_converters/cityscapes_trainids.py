"""Convert Cityscapes ``*_gtFine_labelIds.png`` to ``*_labelTrainIds.png``.

Writes ``<name>_gtFine_labelTrainIds.png`` (19 train classes, 255 = ignore)
beside every ``<name>_gtFine_labelIds.png`` found under the given folder,
e.g. ``python tools/dataset_converters/cityscapes_trainids.py
data/cityscapes/gtFine --nproc 8``.
"""
import argparse

from mmvidseg.datasets.converters import convert_cityscapes_trainids
from mmvidseg.utils.cli import add_debug_arg, report_errors


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Cityscapes labelIds -> labelTrainIds')
    parser.add_argument('gt_dir', help='folder searched recursively, '
                        'e.g. data/cityscapes/gtFine')
    parser.add_argument('--nproc', type=int, default=1,
                        help='worker processes')
    parser.add_argument('--skip-existing', action='store_true',
                        help='keep trainId files that already exist')
    parser.add_argument('--src-suffix', default='_gtFine_labelIds.png')
    parser.add_argument('--dst-suffix', default='_gtFine_labelTrainIds.png')
    add_debug_arg(parser)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    with report_errors('cityscapes_trainids.py', args.debug):
        n = convert_cityscapes_trainids(
            args.gt_dir, nproc=args.nproc, src_suffix=args.src_suffix,
            dst_suffix=args.dst_suffix, skip_existing=args.skip_existing)
    print(f'wrote {n} trainId label files under {args.gt_dir}')


if __name__ == '__main__':
    main()
