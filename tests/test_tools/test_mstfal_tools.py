"""MS-TFAL through tools/train.py and tools/test.py on a fake EndoVis18:
the four stages switch at the configured epochs, videos are ranked, stage 4
corrects labels with the best model, and the EndoVis metric is reported."""
import glob
import json
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from ..test_datasets.endovis18_fake import make_fake_endovis18
from ._run import ROOT, run, tool

pytestmark = pytest.mark.slow

CONFIG = osp.join(ROOT, 'configs', 'ms_tfal',
                  'mstfal_r18-d8_1xb1-clip4-amp-25e_endovis18-256x320.py')


def _set(obj, key, value):
    """Set ``key`` in every dict of a nested config (pipelines)."""
    if isinstance(obj, dict):
        if key in obj:
            obj[key] = value
        for v in obj.values():
            _set(v, key, value)
    elif isinstance(obj, list):
        for v in obj:
            _set(v, key, value)


def tiny_mstfal_config(tmp_path, root, seqs=(1, 2, 3), epochs=4,
                       correction='copy'):
    cfg = Config.fromfile(CONFIG)
    cfg.model.backbone.init_cfg = None
    cfg.model.loss.n_min = 32 * 40 // 16
    cfg.optim_wrapper = dict(type='OptimWrapper',
                             optimizer=dict(type='Adam', lr=1e-4))
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg[name]
        loader.num_workers = 0
        loader.persistent_workers = False
        loader.dataset.data_root = str(root)
        loader.dataset.videos = list(seqs)
    cfg.val_dataloader.dataset.frame_step = 2
    hook = cfg.custom_hooks[0]
    hook.update(stage_epochs=(2, 3, 4), rank_weights=(0.4, 0.7, 1.0),
                num_uncertain=1, correction=correction)
    rel = hook.reliability_dataloader
    rel.num_workers = 0
    rel.dataset.data_root = str(root)
    rel.dataset.videos = list(seqs)
    _set(cfg._cfg_dict, 'scale', (40, 32))
    cfg.train_cfg.max_epochs = epochs
    cfg.default_hooks.logger.interval = 1
    cfg.work_dir = str(tmp_path / 'work')
    path = str(tmp_path / 'mstfal_tiny.py')
    cfg.dump(path)
    return path


def _log_text(work_dir):
    return ''.join(open(p).read() for p in glob.glob(
        osp.join(str(work_dir), '*', '*.log')))


@pytest.mark.parametrize('correction', ['copy', 'alias'])
def test_train_stages_then_test(tmp_path, correction):
    root = tmp_path / 'endovis18'
    make_fake_endovis18(str(root), seqs=(1, 2, 3), frames=5, size=(32, 40))
    cfg = tiny_mstfal_config(tmp_path, root, correction=correction)
    run([tool('train.py'), cfg])
    work = tmp_path / 'work'
    log = _log_text(work)
    # stages at 0-based epochs 0, 1, 2, 3 (T = 2, 3, 4 in 1-based epochs)
    for epoch, stage in ((0, 'plain'), (1, 'video'), (2, 'image'),
                         (3, 'pixel')):
        assert f"epoch {epoch}: stage" in log and f"stage='{stage}'" in log
    assert log.count('MS-TFAL reliability') == 3  # epochs 1, 2, 3
    assert 'corrected_clips' in log and 'lambda_i' in log
    ckpt = torch.load(work / 'epoch_4.pth', map_location='cpu',
                      weights_only=False)
    assert ckpt['ms_tfal']['best_state'] is not None
    run([tool('test.py'), cfg, str(work / 'epoch_4.pth'), '--work-dir',
         str(tmp_path / 'test')])
    records = [json.loads(line) for p in glob.glob(
        osp.join(str(tmp_path / 'test'), '*', '*.json')) for line in open(p)]
    metrics = [r for r in records if 'Dice' in r][-1]
    assert 0 <= metrics['Dice'] <= 1 and 0 <= metrics['IoU'] <= 1
