"""Lay out a FLARE22 release for CTVolumeDataset (configs' data/flare22).

Expects under ROOT the release folders ``FLARE22_LabeledCase50/{images,
labels}`` (``FLARE22_Tr_XXXX_0000.nii.gz`` / ``FLARE22_Tr_XXXX.nii.gz``),
optionally ``FLARE22_UnlabeledCase*/Case_XXXXX_0000.nii.gz`` and
``Validation/FLARETs_XXXX_0000.nii.gz``, and writes under OUT
``imagesTr/``, ``labelsTr/``, ``unlabelled/``, ``validation/`` (+
``labelsVal/`` with ``--validation-labels``) as symbolic links (``--copy``
to copy) and ``splits/{train,val,unlabelled,validation}.txt``: 45 train
cases, the method's 5 fixed val cases, and, as the method, only the
unlabelled cases 1751-2000 (``--unlabelled-range``; ``--all-unlabelled``
keeps every one). Every label's header is checked against its image's.
Example::

    python tools/dataset_converters/flare22.py data/flare22_release \\
        data/flare22 --validation-labels Validation_labels
"""
import argparse

from mmvidseg.datasets.converters import convert_flare22
from mmvidseg.utils.cli import add_debug_arg, report_errors


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split('\n', 1)[1])
    parser.add_argument('root', help='folder holding the release folders')
    parser.add_argument('out', help='output root (data_root of the configs)')
    parser.add_argument('--labelled-dir', default='FLARE22_LabeledCase50',
                        help='labelled release folder (images/ + labels/)')
    parser.add_argument('--unlabelled-dirs', nargs='+',
                        help='folders of Case_XXXXX_0000.nii.gz (default: '
                        'every ROOT/FLARE22_UnlabeledCase* folder)')
    parser.add_argument('--unlabelled-range', type=int, nargs=2,
                        default=(1751, 2000), metavar=('FIRST', 'LAST'),
                        help='unlabelled case numbers to keep, inclusive '
                        '(default 1751 2000, as the method)')
    parser.add_argument('--all-unlabelled', action='store_true',
                        help='keep every unlabelled case')
    parser.add_argument('--validation-dir',
                        help='validation images (default ROOT/Validation '
                        'when present)')
    parser.add_argument('--validation-labels',
                        help='folder of the validation labels '
                        'FLARETs_XXXX.nii.gz')
    parser.add_argument('--copy', action='store_true',
                        help='copy the volumes instead of linking them')
    parser.add_argument('--affine-atol', type=float, default=1e-3,
                        help='largest image/label affine difference (mm)')
    add_debug_arg(parser)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    with report_errors('flare22.py', args.debug):
        out = convert_flare22(
            args.root, args.out, labelled_dir=args.labelled_dir,
            unlabelled_dirs=args.unlabelled_dirs,
            unlabelled_range=(None if args.all_unlabelled else tuple(
                args.unlabelled_range)),
            validation_dir=args.validation_dir,
            validation_labels=args.validation_labels, copy=args.copy,
            affine_atol=args.affine_atol)
    skipped = out['unlabelled_out_of_range']
    print(f"FLARE22 layout under {out['out_dir']} ({out['mode']}):\n"
          f"  train       {out['train']:5d} labelled cases\n"
          f"  val         {out['val']:5d} labelled cases (fixed)\n"
          f"  unlabelled  {out['unlabelled']:5d} cases"
          + (f' ({skipped} outside the range left out)' if skipped else '')
          + f"\n  validation  {out['validation']:5d} cases, "
          f"{out['validation_labels']} with labels")


if __name__ == '__main__':
    main()
