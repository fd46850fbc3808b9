"""Print the full config after inheritance and overrides."""
import argparse

from mmengine.config import DictAction

from mmvidseg.utils.cli import add_debug_arg, report_errors
from mmvidseg.utils.runner_helpers import load_run_config


def main():
    parser = argparse.ArgumentParser(description='Print the whole config')
    parser.add_argument('config', help='config file path')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings')
    add_debug_arg(parser)
    args = parser.parse_args()
    with report_errors('print_config.py', args.debug):
        cfg = load_run_config(args.config, cfg_options=args.cfg_options)
    print(f'Config:\n{cfg.pretty_text}')


if __name__ == '__main__':
    main()
