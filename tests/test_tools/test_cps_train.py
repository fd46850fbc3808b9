"""CPS trains a few iterations through tools/train.py on a tiny FLARE22
layout (the real CPS config with tiny branches, 64x64 slices)."""
import glob
import json
import os
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from tests._flare_data import make_flare_layout

from ._run import ROOT, last_metrics, run, tool

pytest.importorskip('nibabel')

CONFIG = osp.join(ROOT, 'configs', 'flare22',
                  'cps_r50-vit-b16-r50-d16_1xb4-clip1-amp-50k_'
                  'flare22-512x512.py')


def _tiny_branch(channels):
    norm = dict(type='BN', requires_grad=True)
    return dict(
        type='EncoderDecoder',
        backbone=dict(
            type='ResNetV1c', depth=18, stem_channels=8, base_channels=8,
            num_stages=2, strides=(1, 2), dilations=(1, 1), out_indices=(1, ),
            norm_cfg=norm),
        decode_head=dict(
            type='FCNHead', in_channels=16, in_index=0, channels=channels,
            num_convs=1, concat_input=False, num_classes=14,
            dropout_ratio=0.0, norm_cfg=norm, align_corners=False),
        test_cfg=dict(mode='whole'))


def _tiny_cfg(root, work_dir, cache):
    cfg = Config.fromfile(CONFIG)
    cfg.work_dir = work_dir
    cfg.model.segmentor1 = _tiny_branch(8)
    cfg.model.segmentor2 = _tiny_branch(6)
    cfg.model.data_preprocessor.size = (64, 64)
    for dataset in cfg.train_dataloader.dataset.datasets:
        dataset.data_root = root
        dataset.cache_dir = cache
        for step in dataset.pipeline:
            if step['type'] == 'Resize':
                step['scale'] = (64, 64)
    cfg.train_dataloader.update(num_workers=0, persistent_workers=False)
    for name in ('segmentor1', 'segmentor2'):  # no GPU: no AMP here
        cfg.optim_wrapper[name].type = 'OptimWrapper'
        cfg.optim_wrapper[name].pop('loss_scale')
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=3,
                         val_interval=100)
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    # test: the val split's whole volume slice by slice, scored per volume
    test = cfg.test_dataloader
    test.update(num_workers=0, persistent_workers=False)
    test.dataset.update(data_root=root, cache_dir=cache)
    for step in test.dataset.pipeline:
        if step['type'] == 'Resize':
            step['scale'] = (64, 64)
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.checkpoint.interval = 3
    cfg.default_hooks.pop('visualization')
    cfg.randomness = dict(seed=0)
    return cfg


def test_cps_trains_through_tools_train(tmp_path, shared_data):
    root = make_flare_layout(tmp_path / 'flare', shared_data,
                             cases=('FLARE22_Tr_0001', ),
                             unlabelled=('Case_01751', ))
    os.makedirs(osp.join(root, 'splits'))
    for name, case in (('train', 'FLARE22_Tr_0001'),
                       ('val', 'FLARE22_Tr_0001'),
                       ('unlabelled', 'Case_01751')):
        with open(osp.join(root, 'splits', f'{name}.txt'), 'w') as f:
            f.write(case + '\n')
    work_dir = str(tmp_path / 'work')
    cfg = _tiny_cfg(root, work_dir, str(tmp_path / 'cache'))
    cfg_path = str(tmp_path / 'cps.py')
    cfg.dump(cfg_path)
    proc = run([tool('train.py'), cfg_path])
    logs = proc.stdout + proc.stderr
    # the ramp's epoch = labelled slices // 2 (CPSEpochLengthHook)
    assert 'CPS consistency ramp: epoch length' in logs
    records = [json.loads(line) for f in glob.glob(
        osp.join(work_dir, '*', 'vis_data', 'scalars.json')) for line in
        open(f)]
    assert len(records) == 3
    for r in records:
        for key in ('loss', 'loss_sup1', 'loss_cps1', 'loss_sup2',
                    'loss_cps2', 'cps_weight', 'segmentor1.lr',
                    'segmentor2.lr'):
            assert key in r, (key, r)
        # iteration 0-2 of the first "epoch": 0.1 exp(-5)
        assert r['cps_weight'] == pytest.approx(0.1 * 2.718281828 ** -5,
                                                rel=1e-4)
        assert r['segmentor1.lr'] == pytest.approx(1e-4)
    ckpt = torch.load(osp.join(work_dir, 'iter_3.pth'), map_location='cpu',
                      weights_only=False)
    assert set(ckpt['optimizer']) == {'segmentor1', 'segmentor2'}
    for name in ('segmentor1', 'segmentor2'):
        assert ckpt['optimizer'][name]['state']  # AdamW moments
    assert set(ckpt['param_schedulers']) == {'segmentor1', 'segmentor2'}
    keys = ckpt['state_dict']
    assert 'segmentor1.decode_head.head.conv_seg.conv.weight' in keys
    assert keys['segmentor1.decode_head.head.conv_seg.conv.weight'].shape[
        1] == 9  # 8 channels + the slice position
    assert 'segmentor2.decode_head.conv_seg.weight' in keys
    # tools/test.py: the CPS ensemble on every slice of the volume, then
    # DSC/NSD per organ by VolumeDSCNSDMetric
    run([tool('test.py'), cfg_path, osp.join(work_dir, 'iter_3.pth'),
         '--work-dir', str(tmp_path / 'test')])
    metrics = last_metrics(tmp_path / 'test', 'mDSC')
    for key in ('mDSC', 'mNSD', 'DSC_liver', 'NSD_duodenum'):
        assert key in metrics, metrics
    assert 0 <= metrics['mDSC'] <= 1 and 0 <= metrics['mNSD'] <= 1
