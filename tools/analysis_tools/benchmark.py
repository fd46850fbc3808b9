"""Benchmark training steps and streaming inference of a config's model.

Prints the settings, seconds per step, frames/s and peak memory (CUDA:
allocator peak; CPU: peak resident-memory growth of the process), warm-up
iterations excluded. Example::

    python tools/analysis_tools/benchmark.py CONFIG --device cpu --iters 10
"""
import argparse
import json

from mmengine.config import Config, DictAction

from mmvidseg.apis.benchmark import run_benchmark


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='config file')
    parser.add_argument('--checkpoint', help='optional weights')
    parser.add_argument('--mode', choices=['train', 'stream', 'both'],
                        default='both')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--shape', type=int, nargs=2, metavar=('H', 'W'))
    parser.add_argument('--batch-size', type=int, default=1)
    parser.add_argument('--clip-len', type=int)
    parser.add_argument('--iters', type=int, default=10)
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--json', help='also write the report to this file')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args()


def main():
    args = parse_args()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    report = run_benchmark(cfg, args.mode, args.device, args.shape,
                           args.batch_size, args.clip_len, args.iters,
                           args.warmup, args.checkpoint)
    print('settings: ' + ', '.join(f'{k}={v}'
                                   for k, v in report['settings'].items()))
    for mode in ('train', 'stream'):
        if mode in report:
            r = report[mode]
            peak = ('n/a' if r['peak_mem_mib'] is None else
                    f"{r['peak_mem_mib']:.1f} MiB")
            print(f"{mode}: {r['sec_per_iter'] * 1000:.1f} ms/iter, "
                  f"{r['frames_per_sec']:.2f} frames/s, peak memory {peak}")
    if args.json:
        from mmvidseg.utils.io import atomic_write_bytes
        atomic_write_bytes(args.json, json.dumps(report, indent=2).encode())


if __name__ == '__main__':
    main()
