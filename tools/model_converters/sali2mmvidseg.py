"""Convert SALI or whai362 PVTv2 weights for mmvidseg's SALI model.

SRC is either a SALI ``VideoModel`` checkpoint (``Net_epoch_*_best.pth``,
DataParallel ``module.`` prefix allowed) or a raw whai362 PVTv2 ImageNet
checkpoint (``pvt_v2_b5.pth``, converted to ``backbone.*`` only).

Example::

    python tools/model_converters/sali2mmvidseg.py \\
        SALI_Net_epoch_best.pth sali_pvtv2-b5_sunseg.pth
"""
import argparse

import torch

from mmvidseg.models.converters import convert_sali_weights, unwrap_checkpoint
from mmvidseg.utils.checkpoint_compat import (allow_safe_globals,
                                              load_checkpoint_file)
from mmvidseg.utils.cli import (add_debug_arg, add_safe_globals_arg,
                                report_errors)
from mmvidseg.utils.io import atomic_path

_KINDS = {'sali': 'SALI VideoModel', 'pvt_v2': 'whai362 PVTv2'}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='SALI or whai362 PVTv2 checkpoint')
    parser.add_argument('dst', help='converted checkpoint')
    add_safe_globals_arg(parser)
    add_debug_arg(parser)
    args = parser.parse_args(argv)
    with report_errors('sali2mmvidseg.py', args.debug):
        allow_safe_globals(args.safe_globals)
        checkpoint = load_checkpoint_file(args.src)
        if not isinstance(checkpoint, dict):
            raise ValueError(f'{args.src}: not a state dict '
                             f'({type(checkpoint).__name__})')
        try:
            state, kind = convert_sali_weights(unwrap_checkpoint(checkpoint))
        except ValueError as exc:
            raise ValueError(f'{args.src}: {exc}') from exc
        converted = dict(
            state_dict=state, meta=dict(converted_from=_KINDS[kind]))
        with atomic_path(args.dst) as tmp:
            torch.save(converted, tmp)
        print(f'converted {len(state)} tensors ({_KINDS[kind]}) to '
              f'{args.dst}')


if __name__ == '__main__':
    main()
