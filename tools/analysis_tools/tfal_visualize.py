"""Visualise MS-TFAL's temporal feature affinity (``TFAL_visualization.py``).

Ranks the training videos by ``q = mean a_p + 1 - mean a_n`` over the
config's ``MSTFALHook`` reliability dataloader (printed least reliable first
with the hook's rank weights and ``U``; written to ``DIR/reliability.json``
and ``DIR/reliability.csv``), then writes for the first ``--frames`` frames
of each video the min-max normalised confidence map, the noise masks of the
four selection modes at ``--ratio`` and a side-by-side panel under
``DIR/<video>/``. Example::

    python tools/analysis_tools/tfal_visualize.py \\
        configs/ms_tfal/mstfal_r18-d8_1xb1-clip4-amp-25e_endovis18-256x320.py\\
        work_dirs/mstfal/best_IoU_epoch_20.pth --out-dir vis/ --frames 2

``CHECKPOINT`` may be ``none`` (random initialisation, for tests).
"""
import argparse

from mmengine.config import DictAction

from mmvidseg.utils.checkpoint_compat import (allow_safe_globals,
                                              check_checkpoint)
from mmvidseg.utils.cli import (add_debug_arg, add_safe_globals_arg,
                                report_errors)
from mmvidseg.utils.runner_helpers import load_run_config


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split('\n', 1)[1])
    parser.add_argument('config', help='MS-TFAL config (with MSTFALHook)')
    parser.add_argument('checkpoint', help='checkpoint file, or "none"')
    parser.add_argument('--out-dir', required=True, help='output folder')
    parser.add_argument('--frames', type=int, default=4,
                        help='frames per video to draw maps for (the '
                        'first ones; 0: ranking only)')
    parser.add_argument('--ratio', type=float, default=0.4,
                        help='noise selection ratio (the original '
                        'visualisation: 0.4; training: 0.3)')
    parser.add_argument('--videos', nargs='+',
                        help='video ids to draw (default: all)')
    parser.add_argument('--clean-label-dir', default='class_labels',
                        help='label_dir of the clean labels for the panels '
                        '("none": no clean column)')
    parser.add_argument('--device', default='cpu', help='cpu or cuda:0')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys (key=value)')
    add_safe_globals_arg(parser)
    add_debug_arg(parser)
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    with report_errors('tfal_visualize.py', args.debug):
        from mmvidseg.apis import TFALVisualizer
        allow_safe_globals(args.safe_globals)
        cfg = load_run_config(args.config, cfg_options=args.cfg_options)
        none = ('none', '')
        checkpoint = None if args.checkpoint.lower() in none \
            else args.checkpoint
        check_checkpoint(checkpoint)
        vis = TFALVisualizer(
            cfg,
            checkpoint,
            device=args.device,
            clean_label_dir=None if args.clean_label_dir.lower() in none
            else args.clean_label_dir)
        ranking = vis.rank()
        print(vis.format_ranking(ranking))
        json_path, csv_path = vis.save_ranking(ranking, args.out_dir)
        print(f'ranking: {json_path}, {csv_path}')
        if args.frames > 0:
            written = vis.visualize(args.out_dir, args.frames, args.ratio,
                                    args.videos)
            total = sum(len(v) for v in written.values())
            print(f'maps of {total} frames of {len(written)} videos under '
                  f'{args.out_dir}')


if __name__ == '__main__':
    main()
