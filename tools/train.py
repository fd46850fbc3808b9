"""Train a video segmentation model: ``python tools/train.py CONFIG``."""
import argparse

from mmengine.runner import Runner

import mmvidseg  # noqa: F401 (registers the modules)
from mmvidseg.registry import RUNNERS
from mmvidseg.utils.checkpoint_compat import allow_safe_globals
from mmvidseg.utils.cli import (add_debug_arg, add_safe_globals_arg,
                                report_errors)
from mmvidseg.utils.config_check import check_run_inputs
from mmvidseg.utils.runner_helpers import (add_runner_args, enable_amp,
                                           load_run_config,
                                           setup_cpu_distributed,
                                           teardown_distributed)


def parse_args():
    parser = argparse.ArgumentParser(description='Train a segmentor')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        action='store_true',
        help='resume from the latest checkpoint in the work_dir')
    parser.add_argument(
        '--amp', action='store_true', help='enable automatic mixed precision')
    add_runner_args(parser)
    add_safe_globals_arg(parser)
    add_debug_arg(parser)
    return parser.parse_args()


def main():
    args = parse_args()
    with report_errors('train.py', args.debug):
        allow_safe_globals(args.safe_globals)
        cfg = load_run_config(args.config, args.work_dir, args.cfg_options,
                              args.launcher)
        if args.amp:
            enable_amp(cfg)
        cfg.resume = args.resume or cfg.get('resume', False)
        check_run_inputs(cfg, 'train')
        run(cfg)


def run(cfg):
    """Build the runner (a ``runner_type`` subclass if named) and train."""
    setup_cpu_distributed(cfg)
    # a Runner subclass when the config names one (runner_type)
    runner = (RUNNERS.build(cfg) if 'runner_type' in cfg else
              Runner.from_cfg(cfg))
    runner.train()
    del runner
    teardown_distributed()


if __name__ == '__main__':
    main()
