"""Pseudo-labels of unlabelled volumes by mutual agreement of N runs.

Reads the label volumes ``RUN/<case>.nii.gz`` of N prediction runs (e.g.
``tools/infer_volume.py`` outputs of several models or seeds), computes per
case the majority vote and its certainty (mean over chunks of T // 3 slices
of the mean over runs of the mean IoU of organs 1..13 with the vote; both
empty = 1), and writes the vote of every case with certainty >=
``--threshold`` to ``OUT/<case>.nii.gz`` (the runs' geometry) with
``OUT/report.csv`` and ``OUT/report.json`` (case, certainty, kept). As the
FLARE22 method's ``filter_most_certainty.py``; ``--pgt-dir`` compares the
runs with given pseudo ground truths instead (its ``-g``). Example::

    python tools/pseudo_label.py preds/run1 preds/run2 preds/run3 \\
        --out-dir data/flare22/pseudo_labels --threshold 0.9
"""
import argparse

from mmvidseg.apis.pseudo_label import filter_pseudo_labels
from mmvidseg.utils.cli import add_debug_arg, report_errors


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split('\n', 1)[1])
    parser.add_argument('runs', nargs='+',
                        help='prediction folders of <case>.nii.gz volumes')
    parser.add_argument('--out-dir', required=True,
                        help='folder for the kept pseudo-labels and report')
    parser.add_argument('--threshold', type=float, default=0.9,
                        help='keep cases with certainty >= this (default '
                        '0.9)')
    parser.add_argument('--pgt-dir',
                        help='compare the runs with these pseudo ground '
                        'truths (<case>.nii.gz) instead of their vote')
    parser.add_argument('--num-classes', type=int, default=14,
                        help='classes incl. background (FLARE22: 14)')
    parser.add_argument('--num-chunks', type=int, default=3,
                        help='certainty over chunks of T // N slices')
    add_debug_arg(parser)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    with report_errors('pseudo_label.py', args.debug):
        report = filter_pseudo_labels(
            args.runs, args.out_dir, threshold=args.threshold,
            pgt_dir=args.pgt_dir, num_classes=args.num_classes,
            num_chunks=args.num_chunks)
    for row in report['cases']:
        print(f"{row['case']:24s} certainty {row['certainty']:.4f} "
              f"{'kept' if row['kept'] else 'rejected'}")
    if report['without_pgt']:
        print(f"{len(report['without_pgt'])} cases without a pseudo ground "
              'truth were left out')
    print(f"kept {report['kept']} of {report['total']} cases (certainty >= "
          f"{args.threshold}) from {len(args.runs)} runs; pseudo-labels and "
          f"report.csv in {args.out_dir}")


if __name__ == '__main__':
    main()
