"""MultiOptimWrapperConstructor: one optim wrapper per named submodule."""
import pytest
import torch
from mmengine.optim import OptimWrapperDict, build_optim_wrapper
from torch import nn

from mmvidseg.utils import register_all_modules

register_all_modules()


class _Two(nn.Module):

    def __init__(self):
        super().__init__()
        self.segmentor1 = nn.Linear(2, 2)
        self.segmentor2 = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
        self.extra = nn.Linear(1, 1)


def _cfg(**kwargs):
    cfg = dict(
        constructor='MultiOptimWrapperConstructor',
        segmentor1=dict(type='OptimWrapper',
                        optimizer=dict(type='AdamW', lr=1e-4,
                                       weight_decay=1e-7,
                                       betas=(0.937, 0.999)),
                        clip_grad=dict(max_norm=10.)),
        segmentor2=dict(type='OptimWrapper',
                        optimizer=dict(type='SGD', lr=0.5,
                                       weight_decay=1e-4),
                        paramwise_cfg=dict(norm_decay_mult=0.)))
    cfg.update(kwargs)
    return cfg


def test_builds_one_wrapper_per_submodule():
    model = _Two()
    wrappers = build_optim_wrapper(model, _cfg())
    assert isinstance(wrappers, OptimWrapperDict)
    assert list(wrappers.keys()) == ['segmentor1', 'segmentor2']
    opt1 = wrappers['segmentor1'].optimizer
    assert isinstance(opt1, torch.optim.AdamW)
    assert opt1.defaults['betas'] == (0.937, 0.999)
    assert wrappers['segmentor1'].clip_grad_kwargs == dict(max_norm=10.)
    params = [{id(p) for g in w.optimizer.param_groups for p in g['params']}
              for w in wrappers.values()]
    assert params[0] == {id(p) for p in model.segmentor1.parameters()}
    assert params[1] == {id(p) for p in model.segmentor2.parameters()}
    # paramwise_cfg of a value applies: no decay on the BN of segmentor2
    groups = wrappers['segmentor2'].optimizer.param_groups
    assert isinstance(wrappers['segmentor2'].optimizer, torch.optim.SGD)
    assert len(groups) == 4


def test_errors():
    with pytest.raises(KeyError, match="no submodule 'segmentor3'"):
        build_optim_wrapper(_Two(), _cfg(segmentor3=dict(
            optimizer=dict(type='SGD', lr=0.1))))
    with pytest.raises(KeyError, match='optim_wrapper.segmentor1'):
        build_optim_wrapper(_Two(), _cfg(segmentor1=dict(type='SGD')))
