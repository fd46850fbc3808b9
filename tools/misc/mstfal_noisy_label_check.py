"""MS-TFAL real-data check (CPU-sized), see configs/ms_tfal/README.md.

Builds four EndoVis18-layout sequences from the CholecSeg8k clip, noises the
labels of the three training sequences with tools/generate_noisy_labels.py's
generator, trains the plain segmenter and MS-TFAL with the same budget on
the noisy labels, and scores both against the clean labels of the held-out
sequence and of the training frames. Example::

    python tools/misc/mstfal_noisy_label_check.py \
        ../shared/data/cholecseg8k_clip work_dirs/mstfal_check
"""
import argparse
import glob
import json
import os.path as osp
import subprocess
import sys

from mmvidseg.datasets.noise import NoiseConfig, generate_noisy_labels
from mmvidseg.utils.cli import report_errors
from mmvidseg.utils.noisy_label_check import (build_cholec_endovis,
                                              check_configs, write_report)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs', 'ms_tfal',
                  'mstfal_r18-d8_1xb1-clip4-amp-25e_endovis18-256x320.py')


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('clip_dir', help='cholecseg8k_clip folder')
    p.add_argument('work_dir')
    p.add_argument('--epochs', type=int, default=8)
    p.add_argument('--stage-epochs', type=int, nargs=3, default=(2, 4, 6))
    p.add_argument('--scale', type=int, nargs=2, default=(224, 128),
                   metavar=('W', 'H'))
    p.add_argument('--frames-per-seq', type=int, default=18)
    p.add_argument('--noise-ratio', type=float, default=0.67,
                   help='share of training sequences that get noise')
    p.add_argument('--seed', type=int, default=314)
    p.add_argument('--debug', action='store_true')
    return p.parse_args()


def _run(args):
    subprocess.run([sys.executable] + args, check=True, cwd=ROOT)


def _last(work_dir, key='Dice'):
    records = [json.loads(line) for p in sorted(glob.glob(
        osp.join(work_dir, '*', '*.json'))) for line in open(p)
        if line.strip()]
    return [r for r in records if key in r][-1]


def main():
    args = parse_args()
    with report_errors('mstfal_noisy_label_check.py', args.debug):
        data = osp.join(args.work_dir, 'data')
        # frames and labels at their original size: the noise parameters
        # (radius 40-50 px, ...) are in pixels of the full-size labels
        build_cholec_endovis(args.clip_dir, data, args.frames_per_seq)
        noise = generate_noisy_labels(
            osp.join(data, 'train'),
            osp.join(data, 'train_noisy_label', 'noisy'),
            ratio=args.noise_ratio, seed=args.seed, progress=False,
            # no thread class in CholecSeg8k (id 6 is the grasper here)
            cfg=NoiseConfig(thread_class=None))
        cfgs = check_configs(CONFIG, data, args.work_dir, args.epochs,
                             args.stage_epochs, args.scale)
        report = dict(noise=dict(noisy_videos=noise['noisy_videos'],
                                 overall=noise['overall']))
        for kind, cfg in cfgs.items():
            _run([osp.join(ROOT, 'tools', 'train.py'), cfg])
            ckpt = osp.join(args.work_dir, kind,
                            f'epoch_{args.epochs}.pth')
            scores = {}
            for split, opts in (('held_out_clean', []), (
                    'train_frames_clean',
                    ['test_dataloader.dataset.split=train',
                     'test_dataloader.dataset.videos=[1,2,3]'])):
                out = osp.join(args.work_dir, f'{kind}_{split}')
                _run([osp.join(ROOT, 'tools', 'test.py'), cfg, ckpt,
                      '--work-dir', out] +
                     (['--cfg-options'] + opts if opts else []))
                m = _last(out)
                scores[split] = dict(Dice=m['Dice'], IoU=m['IoU'])
            report[kind] = scores
        write_report(osp.join(args.work_dir, 'report.json'), report)
        for kind in ('plain', 'mstfal'):
            for split, s in report[kind].items():
                print(f"{kind:7s} {split:19s} Dice {s['Dice']:.4f} "
                      f"IoU {s['IoU']:.4f}")


if __name__ == '__main__':
    main()
