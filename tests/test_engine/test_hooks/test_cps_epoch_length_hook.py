"""CPSEpochLengthHook: the original's epoch = #labelled // labelled per
batch, also through mmdet's MultiSourceSampler."""
from types import SimpleNamespace

import pytest
from torch.utils.data import ConcatDataset, DataLoader

from mmvidseg.engine.hooks import CPSEpochLengthHook, labelled_epoch_length
from mmvidseg.registry import DATA_SAMPLERS
from mmvidseg.utils import register_all_modules

register_all_modules()


def _loader(n_lab=11, n_unl=30, ratio=(2, 2), batch=4):
    dataset = ConcatDataset([list(range(n_lab)), list(range(n_unl))])
    sampler = DATA_SAMPLERS.build(dict(
        type='mmdet.MultiSourceSampler', dataset=dataset, batch_size=batch,
        source_ratio=list(ratio), seed=0))
    return DataLoader(dataset, batch_size=batch, sampler=sampler)


class _Model:

    def __init__(self, epoch_length=None):
        self.epoch_length = epoch_length

    def set_epoch_length(self, n):
        self.epoch_length = n


def _runner(model, loader):
    logs = []
    return SimpleNamespace(
        model=model, train_loop=SimpleNamespace(dataloader=loader),
        logger=SimpleNamespace(info=logs.append)), logs


def test_labelled_epoch_length():
    # 11 labelled slices, 2 per batch -> 5 (TwoStreamBatchSampler.__len__)
    assert labelled_epoch_length(_loader()) == 5
    assert labelled_epoch_length(_loader(ratio=(1, 3))) == 11
    # the sampler's own length counts both streams: not the original's
    assert len(_loader()) == (11 + 30 + 3) // 4
    # any other loader: its length
    assert labelled_epoch_length(DataLoader(list(range(10)),
                                            batch_size=4)) == 3


def test_hook_sets_the_model():
    model = _Model()
    runner, logs = _runner(model, _loader())
    CPSEpochLengthHook().before_train(runner)
    assert model.epoch_length == 5 and '5' in logs[0]
    # a length in the model config wins, an explicit one in the hook too
    model = _Model(epoch_length=7)
    CPSEpochLengthHook().before_train(_runner(model, _loader())[0])
    assert model.epoch_length == 7
    CPSEpochLengthHook(epoch_length=3).before_train(
        _runner(model, _loader())[0])
    assert model.epoch_length == 3
    with pytest.raises(TypeError, match='set_epoch_length'):
        CPSEpochLengthHook().before_train(_runner(object(), _loader())[0])
