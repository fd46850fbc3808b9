"""Convert EndoVis18 RGB colour labels to class-id PNGs for MS-TFAL.

Writes ``<root>/<split>/seq_<n>/class_labels/frameXXX.png`` (class ids 0..11
in the order of ``labels.json``) from ``.../labels/frameXXX.png`` for the
train and test splits, one sequence per worker, e.g.
``python tools/dataset_converters/endovis18.py data/endovis18 --nproc 4``.
As MS-TFAL's ``to_class_labels.py``, colours that are not in
``labels.json`` become 0 (background); ``--strict`` stops on the first one
instead, naming the file and the colour.
"""
import argparse

from mmvidseg.datasets.converters import convert_endovis18
from mmvidseg.utils.cli import add_debug_arg, report_errors


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='EndoVis18 colour labels -> class-id labels')
    parser.add_argument('root', help='EndoVis18 root holding train/ test/')
    parser.add_argument('--splits', nargs='+', default=['train', 'test'])
    parser.add_argument('--labels-json',
                        help='class colours (default <root>/train/'
                        'labels.json)')
    parser.add_argument('--nproc', type=int, default=1,
                        help='worker processes (one sequence each)')
    parser.add_argument('--strict', action='store_true',
                        help='error on colours not in labels.json (default:'
                        ' background, as MS-TFAL)')
    parser.add_argument('--skip-existing', action='store_true',
                        help='keep class-id files that already exist')
    add_debug_arg(parser)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    with report_errors('endovis18.py', args.debug):
        out = convert_endovis18(
            args.root, splits=args.splits, labels_json=args.labels_json,
            nproc=args.nproc,
            unknown='error' if args.strict else 'background',
            skip_existing=args.skip_existing)
    print(f"wrote {out['files']} class-id labels for {out['sequences']} "
          f'sequences under {args.root}')
    if out['unknown_pixels']:
        print(f"{out['unknown_pixels']} pixels of colours not in labels.json "
              'were set to 0 (background)')


if __name__ == '__main__':
    main()
