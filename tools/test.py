"""Test a video segmentation model: ``python tools/test.py CONFIG CKPT``."""
import argparse

from mmengine.runner import Runner

import mmvidseg  # noqa: F401 (registers the modules)
from mmvidseg.registry import RUNNERS
from mmvidseg.utils.checkpoint_compat import allow_safe_globals
from mmvidseg.utils.cli import (add_debug_arg, add_safe_globals_arg,
                                report_errors)
from mmvidseg.utils.config_check import check_run_inputs
from mmvidseg.utils.runner_helpers import (add_prediction_writer,
                                           add_runner_args, enable_show_dir,
                                           load_run_config,
                                           setup_cpu_distributed,
                                           teardown_distributed)


def parse_args():
    parser = argparse.ArgumentParser(description='Test a segmentor')
    parser.add_argument('config', help='test config file path')
    parser.add_argument(
        'checkpoint',
        help="checkpoint file, or 'none' for models that load their own "
        'weights (label propagation: model.checkpoint)')
    parser.add_argument('--work-dir', help='the dir to save logs and metrics')
    parser.add_argument(
        '--out', help='save predicted masks as <out>/<video>/<frame>.png')
    parser.add_argument('--show', action='store_true', help='show results')
    parser.add_argument(
        '--show-dir', help='save prediction overlays into this directory')
    parser.add_argument(
        '--wait-time', type=float, default=2, help='interval of --show (s)')
    add_runner_args(parser)
    add_safe_globals_arg(parser)
    add_debug_arg(parser)
    return parser.parse_args()


def main():
    args = parse_args()
    with report_errors('test.py', args.debug):
        allow_safe_globals(args.safe_globals)
        cfg = load_run_config(args.config, args.work_dir, args.cfg_options,
                              args.launcher)
        # 'none': models that bring their own weights (label propagation)
        cfg.load_from = (None if args.checkpoint.lower() == 'none' else
                         args.checkpoint)
        check_run_inputs(cfg, 'test')
        if args.show or args.show_dir:
            enable_show_dir(cfg, args.show_dir, args.show, args.wait_time)
        if args.out:
            add_prediction_writer(cfg, args.out)
        run(cfg)


def run(cfg):
    """Build the runner (a ``runner_type`` subclass if named) and test."""
    setup_cpu_distributed(cfg)
    # a Runner subclass when the config names one (runner_type)
    runner = (RUNNERS.build(cfg) if 'runner_type' in cfg else
              Runner.from_cfg(cfg))
    runner.test()
    del runner
    teardown_distributed()


if __name__ == '__main__':
    main()
