"""Benchmark training steps and streaming inference of a config's model.

Prints the settings, seconds per step, frames/s, the input size actually run
and peak memory (CUDA: allocator peak; CPU: peak resident-memory growth of
the process), warm-up iterations excluded. Example::

    python tools/analysis_tools/benchmark.py CONFIG --device cpu --iters 10

``--mode nsd`` needs no config: it times the FLARE22 DSC / NSD of one
synthetic case (``--volume-shape``), ours against the ``surface-distance``
package used directly (skipped with a message when it is not installed)::

    python tools/analysis_tools/benchmark.py --mode nsd --repeats 2

``--mode volume`` times two-stage CT inference (CPS references + STCN
propagation) of a synthetic ``--volume-shape`` CT; CONFIG is the CPS config
(with ``--stcn-config``), or ``tiny`` (or none) for tiny random models::

    python tools/analysis_tools/benchmark.py CPS_CFG --mode volume \
        --stcn-config STCN_CFG --device cuda:0 --memory-on-cpu --json v.json
"""
import argparse
import json

from mmengine.config import DictAction

from mmvidseg.utils.benchmark import format_report, run_benchmark
from mmvidseg.utils.checkpoint_compat import (allow_safe_globals,
                                              check_checkpoint)
from mmvidseg.utils.cli import (add_debug_arg, add_safe_globals_arg,
                                report_errors)
from mmvidseg.utils.complexity import format_macs, run_macs
from mmvidseg.utils.io import atomic_write_bytes
from mmvidseg.utils.nsd_benchmark import format_nsd_report, time_nsd
from mmvidseg.utils.propagation_flops import format_propagation_report
from mmvidseg.utils.read_benchmark import (run_memory_read_benchmark,
                                           run_propagation_benchmark)
from mmvidseg.utils.runner_helpers import load_run_config
from mmvidseg.utils.stage_benchmark import (format_stage_report,
                                            run_stage_benchmark)
from mmvidseg.utils.volume_benchmark import (format_volume_report,
                                             run_volume_benchmark)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', nargs='?',
                        help='config file (not used by --mode nsd)')
    parser.add_argument('--checkpoint', help='optional weights')
    parser.add_argument(
        '--mode',
        choices=['train', 'stream', 'both', 'memory-read', 'propagation',
                 'macs', 'stages', 'nsd', 'volume'],
        default='both',
        help='macs: multiply-accumulates of one inference step (the clip '
        'a streaming model reads per frame) at --shape; memory-read: the '
        'decode head\'s memory read alone, SDPA vs plain '
        'matmul-softmax-matmul, at --shape / 8 feature size; '
        'propagation: a label-propagation model\'s propagation on random '
        'features, streaming vs the original formulation; stages: an '
        'MS-TFAL training step per stage (plain, video, image, pixel) with '
        'its time and memory overhead against plain, and the TFAL maths '
        'alone (default shape: the config\'s crop_size); nsd: FLARE22 '
        'DSC/NSD of a synthetic case, ours vs the surface-distance package; '
        'volume: two-stage CT inference (CPS config + --stcn-config, or '
        '"tiny") of a synthetic --volume-shape CT, slices/s per stage and '
        'peak memory')
    parser.add_argument('--volume-shape', type=int, nargs=3,
                        default=[512, 512, 100], metavar=('D0', 'D1', 'S'),
                        help='--mode nsd / volume: volume shape (slices '
                        'last)')
    parser.add_argument('--spacing', type=float, nargs=3,
                        default=[0.8, 0.8, 2.5], metavar=('S0', 'S1', 'S2'),
                        help='--mode nsd: voxel size in mm')
    parser.add_argument('--repeats', type=int, default=3,
                        help='--mode nsd: timed runs of each implementation')
    parser.add_argument('--stcn-config',
                        help='--mode volume: propagation (STCN) config')
    parser.add_argument('--stcn-checkpoint',
                        help='--mode volume: propagation weights')
    parser.add_argument('--size', type=int, default=512,
                        help='--mode volume: model input size')
    parser.add_argument('--memory-on-cpu', action='store_true',
                        help='--mode volume: propagation memory on the CPU')
    parser.add_argument('--acc-dtype', choices=['float32', 'float16'],
                        default='float32',
                        help='--mode volume: probability accumulator')
    parser.add_argument('--frames', type=int, default=100,
                        help='video length of --mode propagation')
    parser.add_argument('--channels', type=int,
                        help='feature channels of --mode propagation '
                        '(default: the model\'s)')
    parser.add_argument('--reference-frames', type=int,
                        help='video length of the original formulation in '
                        '--mode propagation (default: --frames)')
    parser.add_argument('--isolate', action='store_true',
                        help='--mode propagation: each implementation in a '
                        'fresh process')
    parser.add_argument('--peak', action='store_true',
                        help='--mode propagation: measure the fp32 matmul '
                        'peak and report the fraction reached')
    parser.add_argument('--device', default='cpu')
    parser.add_argument(
        '--shape', type=int, nargs=2, metavar=('H', 'W'),
        help='frame size (default: the data preprocessor\'s size; '
        'propagation: 480 854)')
    parser.add_argument('--batch-size', type=int, default=1)
    parser.add_argument('--clip-len', type=int)
    parser.add_argument('--iters', type=int, default=10)
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--json', help='also write the report to this file')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    add_safe_globals_arg(parser)
    add_debug_arg(parser)
    return parser.parse_args()


def main():
    args = parse_args()
    with report_errors('benchmark.py', args.debug):
        report = benchmark(args)
        formatter = dict(macs=format_macs, stages=format_stage_report,
                         propagation=format_propagation_report,
                         nsd=format_nsd_report,
                         volume=format_volume_report)
        lines = formatter.get(args.mode, format_report)(report)
        print('\n'.join(lines))
        if args.json:
            atomic_write_bytes(
                args.json,
                json.dumps(report, indent=2, default=str).encode())


def benchmark(args):
    if args.mode == 'nsd':
        return time_nsd(args.volume_shape, args.spacing, args.repeats)
    if args.mode == 'volume':
        allow_safe_globals(args.safe_globals)
        return run_volume_benchmark(
            args.config, args.stcn_config, args.checkpoint,
            args.stcn_checkpoint, args.volume_shape, args.device, args.size,
            args.memory_on_cpu, args.acc_dtype, warmup=args.warmup > 0)
    if args.config is None:
        raise ValueError(f'--mode {args.mode} needs a config file')
    allow_safe_globals(args.safe_globals)
    cfg = load_run_config(args.config, cfg_options=args.cfg_options)
    check_checkpoint(args.checkpoint)
    if args.mode == 'macs':
        return run_macs(cfg, args.shape, args.device)
    if args.mode == 'stages':
        return run_stage_benchmark(cfg, args.shape, args.device, args.iters,
                                   args.warmup, args.batch_size)
    if args.mode == 'memory-read':
        return run_memory_read_benchmark(cfg, args.device, args.shape,
                                         args.batch_size, args.iters,
                                         args.warmup)
    if args.mode == 'propagation':
        return run_propagation_benchmark(
            cfg, args.frames, args.shape or (480, 854), args.channels,
            device=args.device, reference_frames=args.reference_frames,
            isolate=args.isolate, measure_peak=args.peak)
    return run_benchmark(cfg, args.mode, args.device, args.shape,
                         args.batch_size, args.clip_len, args.iters,
                         args.warmup, args.checkpoint)


if __name__ == '__main__':
    main()
