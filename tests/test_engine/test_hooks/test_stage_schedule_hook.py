"""StageScheduleHook: curricula reach persistent workers, survive resume."""
import logging
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
from mmengine.hooks import Hook
from mmengine.logging import MMLogger
from torch import nn

from mmvidseg.engine import AtomicCheckpointRunner, StageScheduleHook
from mmvidseg.engine.hooks import find_sample_clips
from mmvidseg.registry import DATASETS

from ...conftest import make_procedural_run_cfg


@pytest.fixture(scope='module')
def cache(tmp_path_factory):
    return str(tmp_path_factory.mktemp('stage_cache'))


class Recorder(Hook):
    """Record per iteration ``(key frame, key - oldest frame)`` of each
    sample and the log variables of the step."""
    priority = 'VERY_HIGH'

    def __init__(self):
        self.clips, self.losses = {}, {}

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.clips[runner.iter] = [
            (s.frame_ids[s.key_index], s.frame_ids[s.key_index] -
             min(s.frame_ids), runner.epoch)
            for s in data_batch['data_samples']
        ]

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        self.losses[runner.iter] = {
            k: float(v.detach()) for k, v in outputs.items()}


def random_skip_cfg(work_dir, cache, schedule, by_epoch=False, workers=1,
                    epochs=None, **kwargs):
    """Procedural run sampling 2 references within max_skip=1."""
    kwargs.setdefault('max_iters', 6)
    cfg = make_procedural_run_cfg(work_dir, cache, train_videos=2,
                                  num_frames=6, workers=workers, **kwargs)
    cfg.train_dataloader.dataset.pipeline[0].policy = dict(
        type='RandomSkipClipPolicy', num_refs=2, max_skip=1)
    if epochs:
        cfg.train_dataloader.sampler = dict(type='DefaultSampler',
                                            shuffle=True)
        cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=epochs,
                             val_interval=1000)
        cfg.default_hooks.checkpoint = dict(type='CheckpointHook',
                                            by_epoch=True, interval=1)
    cfg.custom_hooks = [dict(type='StageScheduleHook', schedule=schedule,
                             by_epoch=by_epoch)]
    return cfg


def train(cfg, resume_from=None):
    if resume_from:
        cfg.load_from, cfg.resume = resume_from, True
    runner = AtomicCheckpointRunner.from_cfg(cfg)
    recorder = Recorder()
    runner.register_hook(recorder)
    runner.train()
    # stop persistent workers now: left to the garbage collector, their
    # shutdown waits for a 5 s timeout
    workers = getattr(runner.train_loop.dataloader, '_iterator', None)
    if workers is not None:
        workers._shutdown_workers()
    return runner, recorder


def check_skips(clips, change, new_skip, pos=lambda it, rec: it):
    """Two references within max_skip=1 are the previous frame (gap 1);
    within max_skip>=2 they are distinct, so for keys >= 2 the oldest is
    at least 2 frames back."""
    checked_after = 0
    for it, samples in clips.items():
        for key, gap, epoch in samples:
            if pos(it, epoch) < change:
                assert gap <= 1, (it, key, gap)
            else:
                assert gap <= new_skip, (it, key, gap)
                if key >= 2:
                    assert gap >= 2, (it, key, gap)
                    checked_after += 1
    assert checked_after > 0


SCHEDULE = [dict(begin=3, clip_policy=dict(max_skip=4))]


@pytest.mark.slow
def test_iter_curriculum_reaches_persistent_worker_and_resume(tmp_path,
                                                              cache):
    cfg = random_skip_cfg(tmp_path / 'full', cache, SCHEDULE, max_iters=6,
                          ckpt_interval=4)
    assert cfg.train_dataloader.persistent_workers
    runner, full = train(cfg)
    assert sorted(full.clips) == list(range(6))
    check_skips(full.clips, change=3, new_skip=4)

    # resume past the change: in force from the first iteration, and the
    # resumed run sees the same clips and ends with the same weights
    cfg = random_skip_cfg(tmp_path / 'resumed', cache, SCHEDULE, max_iters=6,
                          ckpt_interval=4)
    _, resumed = train(cfg, osp.join(tmp_path, 'full', 'iter_4.pth'))
    assert sorted(resumed.clips) == [4, 5]
    for it in (4, 5):
        assert resumed.clips[it] == full.clips[it]
    a = torch.load(tmp_path / 'full' / 'iter_6.pth', weights_only=True)
    b = torch.load(tmp_path / 'resumed' / 'iter_6.pth', weights_only=True)
    for k, v in a['state_dict'].items():
        assert torch.allclose(v.float(), b['state_dict'][k].float(),
                              atol=1e-6), k


@pytest.mark.slow
def test_epoch_curriculum_reaches_persistent_worker_and_resume(tmp_path,
                                                               cache):
    # 12 items, batch 4: 3 iterations per epoch; max_skip 4 from epoch 1
    schedule = [dict(begin=1, clip_policy=dict(max_skip=4))]
    cfg = random_skip_cfg(tmp_path / 'full', cache, schedule, by_epoch=True,
                          epochs=2, batch_size=4)
    _, full = train(cfg)
    assert sorted(full.clips) == list(range(6))
    check_skips(full.clips, change=1, new_skip=4,
                pos=lambda it, epoch: epoch)

    cfg = random_skip_cfg(tmp_path / 'resumed', cache, schedule,
                          by_epoch=True, epochs=2, batch_size=4)
    _, resumed = train(cfg, osp.join(tmp_path, 'full', 'epoch_1.pth'))
    assert sorted(resumed.clips) == [3, 4, 5]
    check_skips(resumed.clips, change=1, new_skip=4,
                pos=lambda it, epoch: epoch)


def test_loss_weights_and_stage_actions(tmp_path, cache):
    schedule = [
        dict(begin=0, loss_weights={'decode_head.loss_decode': 0.0}),
        dict(begin=2, stage='second',
             loss_weights={'decode_head.loss_decode': 1.0,
                           'auxiliary_head.loss_decode': 0.0}),
    ]
    cfg = random_skip_cfg(tmp_path / 'w', cache, schedule, workers=0,
                          max_iters=3)
    runner = AtomicCheckpointRunner.from_cfg(cfg)
    stages = []
    runner.model.set_stage = lambda name: stages.append((runner.iter, name))
    recorder = Recorder()
    runner.register_hook(recorder)
    runner.train()
    losses = recorder.losses
    assert losses[0]['decode.loss_ce'] == 0 == losses[1]['decode.loss_ce']
    assert losses[0]['aux.loss_ce'] > 0 and losses[2]['decode.loss_ce'] > 0
    assert losses[2]['aux.loss_ce'] == 0
    # applied after iteration 1, before the batch of iteration 2 is fetched
    assert stages == [(1, 'second')]
    assert runner.model.auxiliary_head.loss_decode.loss_weight == 0.0


class FakeRunner(SimpleNamespace):
    """Just enough runner for the actions: model, train dataset, logger."""

    def __init__(self, model, dataset=None):
        loop = SimpleNamespace(dataloader=SimpleNamespace(dataset=dataset))
        super().__init__(model=model, train_loop=loop,
                         logger=MMLogger.get_instance('stage_test'), epoch=0,
                         iter=0)


def procedural(cache, policy=None, **kwargs):
    pipeline = [dict(type='SampleClip', policy=policy or dict(
        type='RandomSkipClipPolicy', num_refs=1, max_skip=2))]
    return dict(type='ProceduralVideoDataset', num_videos=1, num_frames=3,
                num_classes=3, img_size=(16, 16), cache_dir=cache,
                pipeline=pipeline, **kwargs)


def test_clip_policies_inside_dataset_wrappers(cache):
    fixed = dict(type='FixedOffsetClipPolicy', offsets=(-1, ))
    dataset = DATASETS.build(
        dict(type='ConcatDataset', datasets=[
            procedural(cache),
            dict(type='RepeatDataset', times=2,
                 dataset=procedural(cache, seed=3)),
        ]))
    clips = find_sample_clips(dataset)
    assert len(clips) == 2
    hook = StageScheduleHook([dict(begin=0, clip_policy=dict(max_skip=7))])
    hook.apply_action(FakeRunner(nn.Linear(1, 1), dataset), 'clip_policy',
                      dict(max_skip=7))
    assert [c.policy.max_skip for c in clips] == [7, 7]
    # one policy without the parameter: the policy's own KeyError
    mixed = DATASETS.build(dict(type='ConcatDataset', datasets=[
        procedural(cache), procedural(cache, policy=fixed)]))
    with pytest.raises(KeyError, match='FixedOffsetClipPolicy has no '
                       "parameter 'max_skip'"):
        hook.check_action(FakeRunner(nn.Linear(1, 1), mixed), 'clip_policy',
                          dict(max_skip=7))
    # checked on a copy: unchanged
    assert find_sample_clips(mixed)[0].policy.max_skip == 2


class TwoLosses(nn.Module):

    def __init__(self):
        super().__init__()
        self.head = nn.Module()
        self.head.loss_decode = nn.ModuleList([nn.Module(), nn.Module()])
        for loss in self.head.loss_decode:
            loss.loss_weight = 1.0
        self.plain = nn.Linear(1, 1)


def test_loss_weights_on_module_lists():
    model = TwoLosses()
    hook = StageScheduleHook([dict(begin=0, loss_weights={})])
    hook.apply_action(FakeRunner(model), 'loss_weights',
                      {'head.loss_decode': 0.25})
    assert [m.loss_weight for m in model.head.loss_decode] == [0.25, 0.25]
    with pytest.raises(KeyError, match="no module 'head.missing'"):
        hook.check_action(FakeRunner(model), 'loss_weights',
                          {'head.missing': 1.0})
    with pytest.raises(KeyError, match='has no loss_weight'):
        hook.check_action(FakeRunner(model), 'loss_weights', {'plain': 1.0})


def test_schedule_errors(cache):
    with pytest.raises(KeyError, match=r"unknown key\(s\) \['max_skip'\]"):
        StageScheduleHook([dict(begin=0, max_skip=3)])
    with pytest.raises(ValueError, match='begin must increase'):
        StageScheduleHook([dict(begin=5, stage='a'), dict(begin=5,
                                                          stage='b')])
    with pytest.raises(ValueError, match='int >= 0'):
        StageScheduleHook([dict(begin=-1, stage='a')])
    with pytest.raises(ValueError, match='no action'):
        StageScheduleHook([dict(begin=0)])
    with pytest.raises(ValueError, match='non-empty list'):
        StageScheduleHook([])
    hook = StageScheduleHook([dict(begin=0, stage='a')])
    with pytest.raises(TypeError, match='Linear has no set_stage'):
        hook.check_action(FakeRunner(nn.Linear(1, 1)), 'stage', 'a')
    no_clip = DATASETS.build(dict(procedural(cache), pipeline=[]))
    with pytest.raises(ValueError, match='no SampleClip'):
        hook.check_action(FakeRunner(nn.Linear(1, 1), no_clip),
                          'clip_policy', dict(max_skip=3))


def test_errors_surface_before_the_first_step(tmp_path, cache):
    # a bad later stage fails in before_train, naming the stage
    schedule = [dict(begin=0, clip_policy=dict(max_skip=2)),
                dict(begin=50, clip_policy=dict(max_skp=3))]
    cfg = random_skip_cfg(tmp_path / 'a', cache, schedule, workers=0)
    runner = AtomicCheckpointRunner.from_cfg(cfg)
    with pytest.raises(KeyError, match="no parameter 'max_skp'"):
        runner.train()
    assert runner.iter == 0
    # by_epoch=True with an iteration loop
    cfg = random_skip_cfg(tmp_path / 'b', cache, schedule[:1], by_epoch=True,
                          workers=0)
    with pytest.raises(ValueError, match='by_epoch=True needs an epoch'):
        AtomicCheckpointRunner.from_cfg(cfg).train()


class NoiseScheduleHook(StageScheduleHook):
    """A subclass adding an action by overriding one method."""
    ACTIONS = dict(StageScheduleHook.ACTIONS, noise=False)

    def apply_action(self, runner, name, value):
        if name != 'noise':
            return super().apply_action(runner, name, value)
        runner.noise = (runner.iter, value)


def test_subclass_adds_an_action(cache):
    hook = NoiseScheduleHook([dict(begin=0, noise=0.1),
                              dict(begin=2, noise=0.3)], by_epoch=False)
    dataset = DATASETS.build(procedural(cache))
    runner = FakeRunner(nn.Linear(1, 1), dataset)
    runner.max_iters = 5
    runner.logger.setLevel(logging.WARNING)
    hook.before_train(runner)
    assert runner.noise == (0, 0.1)
    hook.after_train_iter(runner, 0)
    assert runner.noise == (0, 0.1)
    runner.iter = 1
    hook.after_train_iter(runner, 1)
    assert runner.noise == (1, 0.3)
    with pytest.raises(KeyError, match='unknown key'):
        StageScheduleHook([dict(begin=0, noise=0.1)])
