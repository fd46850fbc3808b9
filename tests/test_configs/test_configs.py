"""Every config under configs/ loads, is well named and builds its model."""
import glob
import os.path as osp
import re

import pytest
import torch
from mmengine.config import Config

from mmvidseg.registry import DATASETS, MODELS
from mmvidseg.utils import check_config_keys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = sorted(
    p for p in glob.glob(osp.join(ROOT, 'configs', '*', '*.py'))
    if '_base_' not in p)
NAME = re.compile(r'^[a-z0-9]+_[a-z0-9-]+_\d+xb\d+-clip\d+(-amp)?-\d+(k|it)_'
                  r'[a-z0-9-]+-\d+x\d+\.py$')
# inference-only label propagation: {algo}_{extractor}_{T-k-R-L}_{data}
PROP_NAME = re.compile(r'^labelprop_[a-z0-9-]+_t[0-9.]+-k\d+-r\d+-l\d+_'
                       r'davis\d+-\d+p\.py$')


def _cpu_norm(cfg):
    """SyncBN -> BN (single CPU process); no pretrained download."""
    if isinstance(cfg, dict):
        if cfg.get('type') == 'SyncBN':
            cfg['type'] = 'BN'
        for v in cfg.values():
            _cpu_norm(v)
    elif isinstance(cfg, list):
        for v in cfg:
            _cpu_norm(v)


def _depth(path, seen=0):
    cfg_text = open(path).read()
    bases = re.findall(r"'(\.\.?/[^']+\.py)'", cfg_text)
    return max([seen] + [_depth(osp.normpath(osp.join(osp.dirname(path), b)),
                                seen + 1) for b in bases])


def test_configs_found():
    assert len(CONFIGS) >= 8


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_config_builds(path):
    name = osp.basename(path)
    assert NAME.match(name) or PROP_NAME.match(name), name
    assert _depth(path) <= 3
    cfg = Config.fromfile(path)
    check_config_keys(cfg)
    if cfg.model.type == 'LabelPropagator':
        return _check_label_propagation(cfg)
    model_cfg = cfg.model.to_dict()
    model_cfg['pretrained'] = None
    model_cfg['backbone'].pop('init_cfg', None)
    _cpu_norm(model_cfg)
    model = MODELS.build(model_cfg).eval()
    head = model.decode_head
    t = getattr(head, 'num_memory_frames', 2) + 1
    # every dataset config's clip length matches the head
    for split in ('train_dataloader', 'test_dataloader'):
        pipeline = cfg[split].dataset.pipeline
        policy = [p for p in pipeline if p['type'] == 'SampleClip'][0][
            'policy']
        if 'offsets' in policy and getattr(head, 'num_memory_frames', None):
            if len(policy['offsets']):
                assert len(policy['offsets']) + 1 == t, split
        assert DATASETS.get(cfg[split].dataset.type) is not None
    with torch.no_grad():
        out = model._forward(torch.randn(1, t, 3, 64, 64))
    assert out.shape[:2] == (1, head.num_classes)


def _check_label_propagation(cfg):
    from mmvidseg.registry import METRICS
    model = MODELS.build(cfg.model).eval()
    assert METRICS.get(cfg.test_evaluator.type) is not None
    assert DATASETS.get(cfg.test_dataloader.dataset.type) is not None
    with torch.no_grad():
        feat = model(torch.randn(1, 1, 3, 64, 96), mode='tensor')
    # stride 8 (ResNet, ViT-S/8) or 16 (ViT-S/16) features, L2-normalised
    assert feat.shape[-2:] in ((8, 12), (4, 6))
    assert torch.allclose(feat.norm(dim=1), torch.ones(1))
