"""Two-stage CT segmentation: reference slices (CPS) + propagation (STCN).

Writes ``<out-dir>/<case>.nii.gz`` (uint8 labels, the input's geometry) for
every input volume, ``case`` being the file name without ``_0000.nii.gz``
(FLARE naming) or ``.nii.gz``. Examples::

    python tools/infer_volume.py imagesTs/ --cps-config CPS_CFG \\
        --cps-checkpoint cps.pth --stcn-config STCN_CFG \\
        --stcn-checkpoint stcn.pth --out-dir preds/ --device cuda:0
    # the reference model alone on every slice
    python tools/infer_volume.py case_0000.nii.gz ... --stage cps
"""
import argparse

from mmvidseg.utils.checkpoint_compat import allow_safe_globals
from mmvidseg.utils.cli import (add_debug_arg, add_safe_globals_arg,
                                report_errors)


def parse_args():
    parser = argparse.ArgumentParser(
        description='Two-stage CT volume segmentation (CPS references + '
        'STCN propagation)')
    parser.add_argument('input', help='a .nii.gz volume or a folder of them')
    parser.add_argument('--cps-config', required=True,
                        help='reference (CPS) model config')
    parser.add_argument('--cps-checkpoint', help='reference model weights')
    parser.add_argument('--stcn-config',
                        help='propagation (STCN) model config (required '
                        'unless --stage cps)')
    parser.add_argument('--stcn-checkpoint', help='propagation weights')
    parser.add_argument('--out-dir', required=True, help='output folder')
    parser.add_argument('--device', default='cpu', help='cpu or cuda:0')
    parser.add_argument('--stage', choices=['two', 'cps'], default='two',
                        help='two: two-stage inference; cps: the reference '
                        'model on every slice')
    parser.add_argument('--memory-on-cpu', action='store_true',
                        help='keep the propagation memory on the CPU')
    parser.add_argument('--sample-every', type=int, default=5,
                        help='candidate reference slices: every n-th slice')
    parser.add_argument('--max-refs', type=int, default=64,
                        help='most candidate slices')
    parser.add_argument('--no-bidirectional', action='store_true',
                        help='propagate forward only between references')
    parser.add_argument('--size', type=int, default=512,
                        help='model input size (slices resized to it)')
    parser.add_argument('--max-mem-frames', type=int, default=40,
                        help='working memory entries per range (0: only '
                        'the reference and the last slice)')
    parser.add_argument('--acc-dtype', choices=['float32', 'float16'],
                        default='float32',
                        help='probability accumulator (float16 halves its '
                        'memory: 14 -> 7 MiB per 512x512 slice)')
    parser.add_argument('--cps-batch-size', type=int, default=4)
    parser.add_argument('--no-progress', action='store_true')
    add_safe_globals_arg(parser)
    add_debug_arg(parser)
    return parser.parse_args()


def main():
    args = parse_args()
    with report_errors('infer_volume.py', args.debug):
        from mmvidseg.apis import TwoStageVolumeInferencer
        from mmvidseg.apis.volume_inferencer import build_model
        from mmvidseg.apis.volume_io import list_volumes
        allow_safe_globals(args.safe_globals)
        list_volumes(args.input)  # a missing input fails before the models
        if args.stage == 'two' and not args.stcn_config:
            raise ValueError('--stcn-config is required for two-stage '
                             'inference (or use --stage cps)')
        cps = build_model(args.cps_config, args.cps_checkpoint, args.device,
                          'CPS')
        stcn = None
        if args.stage == 'two':
            stcn = build_model(args.stcn_config, args.stcn_checkpoint,
                               args.device, 'STCN')
        inferencer = TwoStageVolumeInferencer(
            cps, stcn, device=args.device, size=args.size,
            sample_every=args.sample_every, max_refs=args.max_refs,
            bidirectional=not args.no_bidirectional,
            memory_on_cpu=args.memory_on_cpu,
            max_mem_frames=args.max_mem_frames, acc_dtype=args.acc_dtype,
            cps_batch_size=args.cps_batch_size,
            progress=not args.no_progress)
        results = inferencer(args.input, args.out_dir, stage=args.stage)
        for case, res in results.items():
            print(f"{case}: {res['num_slices']} slices, "
                  f"{res['slices_per_s']:.2f} slices/s -> {res['out']}")


if __name__ == '__main__':
    main()
