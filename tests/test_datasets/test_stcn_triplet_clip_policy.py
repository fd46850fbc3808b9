"""STCNTripletClipPolicy: the original's triplets, SampleClip, curriculum.

Golden triplets: kaylode/ivos 276ee41, source/semantic2D/datasets/
flare2022v2/flare22v2_stcn.py ``FLARE22V2STCNTrainDataset
.sampling_near_frames`` (its source executed unbound on a stub dataset
holding ``volume_range``, ``ids_to_indices`` and ``max_jump``) by
/tmp/stcn_orig/golden_triplets.py::

    np.random.seed(0)
    for (pid, lo, hi) in (a, 0, 29), (b, 5, 40), (c, 0, 6):
        for max_jump in (25, 3, 7):
            for s in range(lo, hi + 1, 3): sampling_near_frames(...)
"""
from types import SimpleNamespace

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.dataset import Compose
from mmengine.logging import MMLogger
from torch import nn

from mmvidseg.datasets import STCNTripletClipPolicy
from mmvidseg.datasets.clip_policies import MissingFrameError
from mmvidseg.datasets.transforms import SampleClip
from mmvidseg.engine import StageScheduleHook

GOLDEN = [
    [0, 4, 17], [3, 4, 8], [17, 4, 6], [11, 4, 9], [12, 4, 6], [15, 4, 17],
    [17, 4, 18], [17, 4, 21], [24, 4, 10], [27, 4, 5], [3, 1, 0], [11, 7, 3],
    [9, 7, 6], [9, 13, 14], [17, 13, 12], [22, 19, 15], [22, 21, 18],
    [21, 23, 25], [24, 25, 27], [28, 26, 27], [0, 1, 3], [3, 5, 7],
    [18, 14, 6], [14, 13, 9], [12, 18, 23], [15, 20, 24], [26, 22, 18],
    [21, 22, 26], [26, 22, 24], [25, 22, 27], [5, 15, 28], [21, 15, 8],
    [18, 12, 11], [14, 15, 28], [19, 15, 17], [20, 15, 28], [16, 15, 23],
    [28, 15, 26], [29, 15, 18], [32, 15, 28], [35, 15, 28], [38, 15, 25],
    [13, 10, 5], [8, 9, 13], [11, 12, 13], [14, 18, 21], [23, 22, 17],
    [20, 21, 27], [23, 26, 30], [26, 27, 28], [29, 30, 33], [32, 35, 38],
    [35, 35, 38], [38, 35, 38], [5, 7, 13], [10, 9, 8], [11, 18, 20],
    [14, 16, 23], [23, 21, 17], [29, 25, 20], [23, 30, 36], [34, 33, 26],
    [29, 31, 34], [37, 33, 32], [35, 33, 35], [38, 33, 37], [3, 0, 0],
    [3, 0, 3], [3, 0, 6], [5, 2, 0], [4, 3, 3], [6, 3, 5], [1, 0, 0],
    [2, 0, 3], [6, 0, 3]
]


def test_triplets_match_the_original():
    policy = STCNTripletClipPolicy()
    got = []
    np.random.seed(0)
    for lo, hi in ((0, 29), (5, 40), (0, 6)):
        numbers = list(range(lo, hi + 1))
        for max_jump in (25, 3, 7):
            policy.update(max_jump=max_jump)
            for s in range(lo, hi + 1, 3):
                if lo == 0:  # positions
                    ids, key = policy(s, len(numbers))
                else:  # slice numbers 5..40
                    ids, key = policy(s - lo, len(numbers),
                                      frame_numbers=numbers)
                sids = [numbers[i] for i in ids]
                assert sids[key] == s
                got.append(sids)
    assert got == GOLDEN


def test_sample_clip_and_missing_slices():
    clip = SampleClip(dict(type='STCNTripletClipPolicy', max_jump=3))
    assert clip.policy.clip_len == 3
    np.random.seed(1)
    keys = set()
    for _ in range(40):
        res = clip(dict(video_id='v', frame_id=10,
                        video_img_paths=['ct.nii.gz'] * 30,
                        video_seg_map_paths=['seg.nii.gz'] * 30))
        ids, key = res['frame_ids'], res['key_index']
        assert ids[key] == 10 and key in (0, 2)
        assert res['supervised'] == [True] * 3
        forward = ids if key == 0 else ids[::-1]
        assert forward[0] < forward[1] <= forward[2] <= forward[1] + 4
        keys.add(key)
    assert keys == {0, 2}
    policy = STCNTripletClipPolicy(max_jump=2)
    with pytest.raises(MissingFrameError, match='frame number 2'):
        np.random.seed(0)
        for _ in range(20):  # numbers 0, 1, 4..9: 2 and 3 are absent
            policy(1, 8, frame_numbers=[0, 1, 4, 5, 6, 7, 8, 9])
    with pytest.raises(ValueError, match='max_jump'):
        STCNTripletClipPolicy(max_jump=-1)
    with pytest.raises(KeyError, match='max_skip'):
        policy.update(max_skip=3)


def test_curriculum_hook_of_the_stcn_schedule(repo_root):
    cfg = Config.fromfile(
        f'{repo_root}/configs/_base_/schedules/schedule_stcn_60k.py')
    hook_cfg = dict(cfg.custom_hooks[0])
    assert hook_cfg.pop('type') == 'StageScheduleHook'
    hook = StageScheduleHook(**hook_cfg)
    # the original callback: round(f * 60000) for its fractions
    fractions, values = [0.1, 0.2, 0.3, 0.4, 0.9, 1.0], [3, 4, 5, 7, 3]
    expected = [(0, 25)] + list(
        zip([round(f * 60000) for f in fractions], values))
    assert [(s['begin'], s['clip_policy']['max_jump'])
            for s in hook.schedule] == expected
    clip = SampleClip(dict(type='STCNTripletClipPolicy'))
    loader = SimpleNamespace(dataset=SimpleNamespace(pipeline=Compose([clip])),
                             sampler=None, batch_sampler=None)
    runner = SimpleNamespace(
        model=nn.Linear(1, 1), train_loop=SimpleNamespace(dataloader=loader),
        logger=MMLogger.get_instance('stcn_curriculum'), epoch=0, iter=0)
    seen = []
    for it in (0, 5999, 6000, 11999, 12000, 18000, 24000, 53999, 54000,
               59999):
        hook._apply_due(runner, it)
        seen.append(clip.policy.max_jump)
    assert seen == [25, 25, 3, 3, 4, 5, 7, 7, 3, 3]
    np.random.seed(0)  # the policy still samples after the updates
    assert len(clip.policy(5, 20)[0]) == 3
