"""SALI's max_skip curriculum through StageScheduleHook, on a tiny runner.

SALI (``train_video.py``) trains with ``max_skip=5`` and rebuilds its loader
after every 5th epoch with 10, 15, 20, 25 and then 5 for good (the rebuild
crashes as shipped: ``get_loader(dataset=...)``). In mmengine's 0-based
epochs that is 5 for epochs 0-4, 10 for 5-9, ..., 25 for 20-24 and 5 from
epoch 25 on. Here the dataset's policy must change at those epochs, also in
a persistent dataloader worker, and every sampled memory frame must respect
the skip in force.
"""
import torch
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch import nn

from mmvidseg.engine.hooks import find_sample_clips

from ...test_datasets.sunseg_fake import make_fake_sunseg

SKIPS = [10, 15, 20, 25, 5]
SCHEDULE = [dict(begin=0, clip_policy=dict(max_skip=5))] + [
    dict(begin=5 * (k + 1), clip_policy=dict(max_skip=s))
    for k, s in enumerate(SKIPS)
]
FRAMES = 30


def expected_skip(epoch: int) -> int:
    return 5 if epoch < 5 or epoch >= 25 else SKIPS[epoch // 5 - 1]


class NoOpModel(BaseModel):
    """A model with one parameter that ignores its inputs."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(1))

    def forward(self, inputs, data_samples=None, mode='tensor'):
        if mode == 'loss':
            return dict(loss=(self.w**2).sum())
        return [self.w]


class Recorder(Hook):
    """Per epoch: the main process's max_skip and the sampled frame ids."""
    priority = 'VERY_LOW'  # after StageScheduleHook

    def __init__(self):
        self.skips, self.clips = {}, {}

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        policy = find_sample_clips(runner.train_loop.dataloader.dataset)[0]
        self.skips[runner.epoch] = policy.policy.max_skip
        self.clips.setdefault(runner.epoch, []).extend(
            s.frame_ids for s in data_batch['data_samples'])


def test_sali_max_skip_curriculum(tmp_path):
    root = str(tmp_path / 'sunseg')
    make_fake_sunseg(root, cases=2, frames=FRAMES, size=(8, 8))
    pipeline = [
        dict(type='SampleClip', policy=dict(type='SALIClipPolicy',
                                            max_skip=5)),
        dict(type='LoadVideoFrames'),
        dict(type='PackVideoSegInputs'),
    ]
    runner = Runner(
        model=NoOpModel(),
        work_dir=str(tmp_path / 'work'),
        train_dataloader=dict(
            batch_size=2 * FRAMES,  # one iteration per epoch
            num_workers=1,
            persistent_workers=True,
            sampler=dict(type='DefaultSampler', shuffle=True),
            dataset=dict(type='SUNSEGDataset', data_root=root,
                         serialize_data=False, pipeline=pipeline)),
        train_cfg=dict(by_epoch=True, max_epochs=27),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.0)),
        default_hooks=dict(checkpoint=None),
        custom_hooks=[dict(type='StageScheduleHook', schedule=SCHEDULE,
                           by_epoch=True)],
        default_scope='mmseg',
        env_cfg=dict(mp_cfg=dict(mp_start_method='fork')),
        randomness=dict(seed=0),
        log_level='WARNING')
    recorder = Recorder()
    runner.register_hook(recorder)
    try:
        runner.train()
    finally:
        workers = getattr(runner.train_loop.dataloader, '_iterator', None)
        if workers is not None:
            workers._shutdown_workers()
    assert recorder.skips == {e: expected_skip(e) for e in range(27)}
    largest = {}
    for epoch, clips in recorder.clips.items():
        skip = expected_skip(epoch)
        assert len(clips) == 2 * FRAMES
        for mem, cur, nb in clips:
            if cur == 0:
                assert (mem, nb) == (1, 1)
            elif cur == FRAMES - 1:  # before the previous-frame neighbour
                assert nb == cur - 1 and 2 <= cur - mem <= skip + 1
            else:
                assert nb == cur + 1 and 1 <= cur - mem <= skip
                largest[skip] = max(largest.get(skip, 0), cur - mem)
    # the workers draw with the new skip (not only the main process)
    assert largest[10] > 5 and largest[15] > 10
    assert largest[20] > 15 and largest[25] > 20
    assert largest[5] <= 5  # back to 5 from epoch 25
