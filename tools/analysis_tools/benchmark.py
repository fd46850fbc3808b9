"""Benchmark training steps and streaming inference of a config's model.

Prints the settings, seconds per step, frames/s and peak memory (CUDA:
allocator peak; CPU: peak resident-memory growth of the process), warm-up
iterations excluded. Example::

    python tools/analysis_tools/benchmark.py CONFIG --device cpu --iters 10
"""
import argparse
import json

from mmengine.config import Config, DictAction

from mmvidseg.apis.benchmark import benchmark_memory_read, run_benchmark


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='config file')
    parser.add_argument('--checkpoint', help='optional weights')
    parser.add_argument(
        '--mode',
        choices=['train', 'stream', 'both', 'memory-read', 'propagation'],
        default='both',
        help='memory-read: the decode head\'s memory read alone, SDPA vs '
        'plain matmul-softmax-matmul, at --shape / 8 feature size; '
        'propagation: a LabelPropagator config\'s propagation on random '
        'features, streaming vs all frames in memory')
    parser.add_argument('--frames', type=int, default=100,
                        help='video length of --mode propagation')
    parser.add_argument('--channels', type=int, default=256,
                        help='feature channels of --mode propagation')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--shape', type=int, nargs=2, metavar=('H', 'W'))
    parser.add_argument('--batch-size', type=int, default=1)
    parser.add_argument('--clip-len', type=int)
    parser.add_argument('--iters', type=int, default=10)
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--json', help='also write the report to this file')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args()


def _feature_hw(shape):
    """Stride-8 feature grid (h, w) of an (H, W) input."""
    h, w = shape
    return -(-h // 8), -(-w // 8)


def _peak(result):
    peak = result['peak_mem_mib']
    return 'n/a' if peak is None else f'{peak:.1f} MiB'


def _print_settings(settings):
    print('settings: ' + ', '.join(f'{k}={v}' for k, v in settings.items()))


def _write_json(path, report):
    if path:
        from mmvidseg.utils.io import atomic_write_bytes
        atomic_write_bytes(path,
                           json.dumps(report, indent=2, default=str).encode())


def main():
    args = parse_args()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if args.mode == 'memory-read':
        return memory_read_report(cfg, args)
    if args.mode == 'propagation':
        return propagation_report(cfg, args)
    report = run_benchmark(cfg, args.mode, args.device, args.shape,
                           args.batch_size, args.clip_len, args.iters,
                           args.warmup, args.checkpoint)
    _print_settings(report['settings'])
    for mode in ('train', 'stream', 'clip_infer'):
        if mode in report:
            r = report[mode]
            print(f"{mode}: {r['sec_per_iter'] * 1000:.1f} ms/iter, "
                  f"{r['frames_per_sec']:.2f} frames/s, peak memory "
                  f'{_peak(r)}')
    _write_json(args.json, report)


def propagation_report(cfg, args):
    from mmvidseg.apis.propagation_benchmark import benchmark_propagation
    model = cfg.model
    if model.type != 'LabelPropagator':
        raise KeyError(f'--mode propagation needs a LabelPropagator config, '
                       f'got {model.type}')
    hw = _feature_hw(args.shape or (480, 854))
    report = {}
    for impl in ('streaming', 'all_frames'):
        report[impl] = benchmark_propagation(
            args.frames, hw, args.channels, 3, model.queue_len, model.topk,
            model.radius, args.device, impl, model.temperature)
        r = report[impl]
        print(f"{impl}: {args.frames} frames, features {hw}, C="
              f"{args.channels}, L={model.queue_len}: "
              f"{r['sec_per_frame'] * 1000:.1f} ms/frame, "
              f"{1 / r['sec_per_frame']:.2f} frames/s, peak memory "
              f'{_peak(r)}')
    _write_json(args.json, report)


def memory_read_report(cfg, args):
    head = cfg.model.decode_head
    if 'key_channels' not in head:
        raise KeyError(f"decode_head {head['type']} has no key_channels: "
                       'no memory read to benchmark')
    hw = _feature_hw(args.shape or cfg.get('crop_size', (512, 512)))
    report = benchmark_memory_read(
        hw, head.get('num_memory_frames', 1), head['key_channels'],
        head['value_channels'], args.device, args.batch_size, args.iters,
        args.warmup, scale=head['key_channels']**-0.5 if head.get(
            'matmul_norm', False) else 1.0)
    _print_settings(report['settings'])
    for name in ('sdpa', 'plain'):
        r = report[name]
        print(f"{name} read: {r['sec_per_iter'] * 1000:.2f} ms/iter, "
              f'peak memory {_peak(r)}')
    _write_json(args.json, report)


if __name__ == '__main__':
    main()
