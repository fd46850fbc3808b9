"""STCN trains a few iterations through tools/train.py on a tiny FLARE22
layout (the real FLARE22 STCN config with tiny encoders, 64x64 slices),
with the max_jump curriculum changing the triplet policy on the way."""
import glob
import json
import os
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from tests._flare_data import make_flare_layout

from ..test_models._stcn_fill import TINY_STCN
from ._run import ROOT, run, tool

pytest.importorskip('nibabel')

CONFIG = osp.join(ROOT, 'configs', 'flare22',
                  'stcn_r50_1xb2-clip3-amp-60k_flare22-512x512.py')


def _tiny_cfg(root, work_dir, cache):
    cfg = Config.fromfile(CONFIG)
    cfg.work_dir = work_dir
    for key in ('key_encoder', 'value_encoder', 'key_dim', 'value_dim',
                'decoder_channels'):  # replaced, not merged (no init_cfg)
        cfg.model[key] = TINY_STCN[key]
    dataset = cfg.train_dataloader.dataset
    dataset.update(data_root=root, cache_dir=cache)
    for step in dataset.pipeline:
        for sub in step.get('transforms', []):
            if sub['type'] == 'Resize':
                sub['scale'] = (64, 64)
    cfg.train_dataloader.update(num_workers=0, persistent_workers=False)
    cfg.optim_wrapper.type = 'OptimWrapper'  # no GPU: no AMP here
    cfg.optim_wrapper.pop('loss_scale')
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=3,
                         val_interval=100)
    cfg.test_cfg = cfg.test_dataloader = cfg.test_evaluator = None
    cfg.custom_hooks[0].schedule = [
        dict(begin=0, clip_policy=dict(max_jump=25)),
        dict(begin=1, clip_policy=dict(max_jump=3)),
        dict(begin=2, clip_policy=dict(max_jump=4)),
    ]
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.checkpoint.interval = 3
    cfg.default_hooks.pop('visualization')
    cfg.randomness = dict(seed=0)
    return cfg


def test_stcn_trains_through_tools_train(tmp_path, shared_data):
    root = make_flare_layout(tmp_path / 'flare', shared_data,
                             cases=('FLARE22_Tr_0001', ), unlabelled=())
    os.makedirs(osp.join(root, 'splits'))
    with open(osp.join(root, 'splits', 'train.txt'), 'w') as f:
        f.write('FLARE22_Tr_0001\n')
    work_dir = str(tmp_path / 'work')
    cfg = _tiny_cfg(root, work_dir, str(tmp_path / 'cache'))
    cfg_path = str(tmp_path / 'stcn.py')
    cfg.dump(cfg_path)
    proc = run([tool('train.py'), cfg_path])
    logs = proc.stdout + proc.stderr
    for it, jump in ((1, 3), (2, 4)):
        assert (f"StageScheduleHook: iteration {it}: stage {it} (from "
                f"iteration {it}): clip_policy={{'max_jump': {jump}}}"
                in logs), logs[-3000:]
    records = [json.loads(line) for f in glob.glob(
        osp.join(work_dir, '*', 'vis_data', 'scalars.json')) for line in
        open(f)]
    assert len(records) == 3
    for r in records:
        for key in ('loss', 'loss_ohem', 'loss_lovasz', 'lr'):
            assert key in r, (key, r)
        assert r['loss'] == pytest.approx(r['loss_ohem'] + r['loss_lovasz'],
                                          rel=1e-4)
    ckpt = torch.load(osp.join(work_dir, 'iter_3.pth'), map_location='cpu',
                      weights_only=False)
    assert ckpt['optimizer']['state']  # AdamW moments
    assert ckpt['state_dict']['key_proj.weight'].shape == (8, 32, 3, 3)
