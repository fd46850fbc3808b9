"""Convert official STCN or kaylode/ivos STCN weights for mmvidseg's STCN.

SRC is the official ``stcn.pth`` (``hkchengrex/STCN``, CBAM in the value
fusion) or a ``kaylode/ivos`` STCN checkpoint (``key_encoder.model.*``);
a DataParallel ``module.`` prefix and common wrappers (``state_dict``,
``model``) are accepted. Encoder conv biases are folded into the following
batch norms; a single-object value encoder gets its fifth input channel as
the original (orthogonal, seeded).

Examples::

    # official weights for the DAVIS config (fuser_attention=True)
    python tools/model_converters/stcn2mmvidseg.py stcn.pth stcn_mm.pth
    # for the FLARE22 config (no CBAM); --heads-only keeps what kaylode/ivos
    # actually loaded from it (key_proj, key_comp, decoder, fusion blocks)
    python tools/model_converters/stcn2mmvidseg.py stcn.pth stcn_flare.pth \\
        --drop-attention
"""
import argparse

import torch

from mmvidseg.models.converters import (convert_stcn_checkpoint,
                                        stcn_checkpoint_layout,
                                        unwrap_checkpoint)
from mmvidseg.utils.checkpoint_compat import (allow_safe_globals,
                                              load_checkpoint_file)
from mmvidseg.utils.cli import (add_debug_arg, add_safe_globals_arg,
                                report_errors)
from mmvidseg.utils.io import atomic_path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='official or kaylode/ivos STCN weights')
    parser.add_argument('dst', help='converted checkpoint')
    parser.add_argument('--drop-attention', action='store_true',
                        help='drop the official CBAM weights')
    parser.add_argument('--heads-only', action='store_true',
                        help='keep key_proj, key_comp, decoder and the '
                        'fusion blocks only (what kaylode/ivos loaded)')
    parser.add_argument('--pad', choices=('orthogonal', 'zeros'),
                        default='orthogonal',
                        help='fifth value-encoder input channel of a '
                        'single-object checkpoint')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the orthogonal padding')
    add_safe_globals_arg(parser)
    add_debug_arg(parser)
    args = parser.parse_args(argv)
    with report_errors('stcn2mmvidseg.py', args.debug):
        allow_safe_globals(args.safe_globals)
        checkpoint = load_checkpoint_file(args.src)
        if not isinstance(checkpoint, dict):
            raise ValueError(f'{args.src}: not a state dict '
                             f'({type(checkpoint).__name__})')
        source = unwrap_checkpoint(checkpoint)
        try:
            layout = stcn_checkpoint_layout(
                {k[len('module.'):] if k.startswith('module.') else k: v
                 for k, v in source.items()})
            state = convert_stcn_checkpoint(
                source, drop_attention=args.drop_attention,
                heads_only=args.heads_only, pad=args.pad, seed=args.seed)
        except (KeyError, ValueError) as exc:
            raise ValueError(f'{args.src}: {exc}') from exc
        converted = dict(state_dict=state,
                         meta=dict(converted_from=f'STCN ({layout})'))
        with atomic_path(args.dst) as tmp:
            torch.save(converted, tmp)
        print(f'converted {len(state)} tensors ({layout} STCN) to {args.dst}')


if __name__ == '__main__':
    main()
