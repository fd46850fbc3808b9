"""Convert an original TMANet checkpoint (mmseg 0.7 fork) for mmvidseg.

Example::

    python tools/model_converters/tmanet2mmvidseg.py \\
        tmanet_r50-d8_769x769_80k_cityscapes_video.pth tmanet_r50_city.pth
"""
import argparse

import torch

from mmvidseg.models.converters import convert_tmanet_checkpoint
from mmvidseg.utils.checkpoint_compat import load_checkpoint_file
from mmvidseg.utils.cli import add_debug_arg, error_message, report_errors
from mmvidseg.utils.io import atomic_path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='original TMANet checkpoint')
    parser.add_argument('dst', help='converted checkpoint')
    add_debug_arg(parser)
    args = parser.parse_args(argv)
    with report_errors('tmanet2mmvidseg.py', args.debug):
        # The original checkpoints pickle mmcv-1.x/numpy objects in 'meta':
        # only load files you trust.
        checkpoint = load_checkpoint_file(args.src, weights_only=False)
        if not isinstance(checkpoint, dict):
            raise ValueError(f'{args.src}: not a state dict '
                             f'({type(checkpoint).__name__})')
        try:
            converted = convert_tmanet_checkpoint(checkpoint)
        except KeyError as exc:
            raise ValueError(f'{args.src}: {error_message(exc)}') from exc
        with atomic_path(args.dst) as tmp:
            torch.save(converted, tmp)
        print(f"converted {len(converted['state_dict'])} tensors to "
              f'{args.dst}')


if __name__ == '__main__':
    main()
