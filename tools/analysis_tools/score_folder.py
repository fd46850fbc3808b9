"""Score segmentation results already on disk with a video metric.

Runs the metric class of a test run (its ``process`` on every frame, whole
videos per worker process, then ``compute_metrics`` once), prints the
results as JSON (overall and per video/object) and optionally writes them
atomically to ``--out``. Any missing video or frame on either side, or an
unreadable file, stops it with a one-line message and exit status 1
(``--debug``: the traceback). Example::

    python tools/analysis_tools/score_folder.py davis \\
        --gt data/DAVIS --pred results/osvos --nproc 4 --out scores.json

Metrics: ``davis`` (J&F of the official DAVIS-2017 semi-supervised scorer;
``--davis2016`` for DAVIS-2016 binary masks), ``vps`` (S-measure, E-measure,
weighted F, F, MAE, Sen, Spe, Dice, IoU of the VPS / SUN-SEG toolbox:
``--gt .../GT --pred <maps>``, ``<case>/<frame>.png`` on both sides),
``endovis`` (MS-TFAL's present-class Dice / IoU of EndoVis18: class-id PNGs
``<seq>/<frame>.png`` on both sides, ``--num-classes``, ``--gt-subdir``),
``flare`` (FLARE22 per-case, per-organ DSC / NSD of the official scorer:
``<case>.nii.gz`` label volumes on both sides, ``--tolerance flare22|MM``,
``--rules official|ivos``, ``--official-rounding``).
``score_folder.py METRIC -h`` lists a metric's options.
"""
import argparse
import inspect
import logging
import sys
from typing import List, Optional

from mmengine.logging import MMLogger

from mmvidseg.evaluation.folder_scorer import (FOLDER_READERS, report_to_json,
                                               score_folder, write_report)
from mmvidseg.utils.cli import report_errors


class _Stderr:
    """Whatever ``sys.stderr`` is when a log line is written."""

    def write(self, text: str) -> None:
        sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split('\n', 1)[1])
    metrics = parser.add_subparsers(dest='metric', metavar='METRIC',
                                    required=True)
    for name, reader in sorted(FOLDER_READERS.items()):
        doc = inspect.getdoc(reader) or ''
        sub = metrics.add_parser(
            name, help=doc.split('\n')[0], description=doc.split('Args:')[0],
            formatter_class=argparse.RawDescriptionHelpFormatter)
        sub.add_argument('--gt', required=True, help='ground-truth folder')
        sub.add_argument('--pred', required=True, help='prediction folder')
        sub.add_argument('--out', help='also write the JSON report here')
        sub.add_argument('--nproc', type=int, default=1,
                         help='worker processes (whole videos each)')
        sub.add_argument('--debug', action='store_true',
                         help='show the traceback of an error')
        reader.add_arguments(sub)
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    # log lines (the metric's summary) go to stderr; stdout is the JSON
    logger = MMLogger.get_instance('score_folder', log_level='INFO')
    for handler in logger.handlers:
        if isinstance(handler, logging.StreamHandler) and \
                not isinstance(handler, logging.FileHandler):
            handler.stream = _Stderr()
    with report_errors(f'score_folder.py {args.metric}', args.debug):
        reader = FOLDER_READERS[args.metric].from_args(args)
        report = score_folder(reader, nproc=args.nproc)
        if args.out:
            write_report(args.out, report)
    print(report_to_json(report))


if __name__ == '__main__':
    main()
