"""Train a video segmentation model: ``python tools/train.py CONFIG``."""
import argparse

from mmengine.config import DictAction
from mmengine.runner import Runner

import mmvidseg  # noqa: F401 (registers the modules)
from mmvidseg.apis.runner_helpers import (enable_amp, load_run_config,
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
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, e.g. train_cfg.max_iters=100')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    return parser.parse_args()


def main():
    args = parse_args()
    cfg = load_run_config(args.config, args.work_dir, args.cfg_options,
                          args.launcher)
    if args.amp:
        enable_amp(cfg)
    cfg.resume = args.resume or cfg.get('resume', False)
    setup_cpu_distributed(cfg)
    Runner.from_cfg(cfg).train()
    teardown_distributed()


if __name__ == '__main__':
    main()
