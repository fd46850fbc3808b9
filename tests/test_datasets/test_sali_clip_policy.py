"""SALIClipPolicy: SALI's (memory, current, neighbour) frames."""
from unittest import mock

import cv2
import numpy as np
import pytest

from mmvidseg.datasets import SALIClipPolicy
from mmvidseg.registry import TASK_UTILS, TRANSFORMS

from .sunseg_fake import make_fake_sunseg

# Scatteredrain/SALI @ c760e64, dataloaders/video_list.py VideoDataset on a
# fake 8-frame case (random.randint patched to record its (low, high) and
# return low): /tmp/h3_golden/golden_policy.py, run with
# `cd /tmp/h3_golden && /work/main/.venv/bin/python golden_policy.py`.
ORIG_RANGES = {
    5: [(0, 0), (0, 1), (0, 2), (0, 3), (0, 4), (1, 5), (1, 5)],
    3: [(0, 0), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (3, 5)],
}
ORIG_LOW_DRAW_FRAMES = {
    5: [[1, 0, 1], [0, 1, 2], [0, 2, 3], [0, 3, 4], [0, 4, 5], [0, 5, 6],
        [1, 6, 7], [1, 7, 6]],
    3: [[1, 0, 1], [0, 1, 2], [0, 2, 3], [0, 3, 4], [1, 4, 5], [2, 5, 6],
        [3, 6, 7], [3, 7, 6]],
}
ORIG_TEST_PAIRS = [[0, 1], [1, 2], [2, 3], [3, 4], [4, 5], [5, 6], [6, 7],
                   [7, 6]]


@pytest.mark.parametrize('skip', [5, 3])
def test_train_ranges_match_the_original(skip):
    policy = TASK_UTILS.build(dict(type='SALIClipPolicy', max_skip=skip))
    calls = []

    def lowest(low, high):
        calls.append((low, high - 1))  # numpy's high is exclusive
        return low

    with mock.patch.object(np.random, 'randint', lowest):
        clips = [policy(i, 8) for i in range(8)]
    assert calls == ORIG_RANGES[skip]
    assert [ids for ids, _ in clips] == ORIG_LOW_DRAW_FRAMES[skip]
    assert {key for _, key in clips} == {1}


def test_train_draws_cover_the_range():
    np.random.seed(0)
    policy = SALIClipPolicy(max_skip=5)
    mems = {i: set() for i in (2, 7, 9)}
    for _ in range(300):
        for i in mems:
            ids, key = policy(i, 10)
            assert ids[1] == i and key == 1
            mems[i].add(ids[0])
    assert mems[2] == {0, 1}
    assert mems[7] == {2, 3, 4, 5, 6}
    assert mems[9] == {3, 4, 5, 6, 7}  # last frame: before its neighbour 8
    assert policy(9, 10)[0][2] == 8


def test_test_pairs_match_the_original():
    policy = SALIClipPolicy(mode='test')
    assert [policy(i, 8)[0] for i in range(8)] == ORIG_TEST_PAIRS
    assert {policy(i, 8)[1] for i in range(8)} == {0}


def test_previous_neighbour_is_causal():
    np.random.seed(1)
    train = SALIClipPolicy(neighbour='previous', max_skip=2)
    assert train(0, 10) == ([0, 0, 0], 1)
    assert train(1, 10) == ([0, 1, 0], 1)
    seen = set()
    for _ in range(100):
        ids, _ = train(5, 10)
        assert ids[1:] == [5, 4]
        seen.add(ids[0])
    assert seen == {2, 3}  # before the neighbour, within max_skip of it
    for i in range(10):
        assert max(train(i, 10)[0]) <= i  # never a future frame
    test = SALIClipPolicy(mode='test', neighbour='previous')
    assert [test(i, 4)[0] for i in range(4)] == [[0, 0], [1, 0], [2, 1],
                                                 [3, 2]]


def test_short_videos():
    # the original fails on these (IndexError / randint(0, -1))
    train, test = SALIClipPolicy(), SALIClipPolicy(mode='test')
    assert train(0, 1) == ([0, 0, 0], 1) and test(0, 1) == ([0, 0], 0)
    assert train(0, 2) == ([1, 0, 1], 1)
    assert train(1, 2) == ([0, 1, 0], 1)
    assert test(0, 2) == ([0, 1], 0) and test(1, 2) == ([1, 0], 0)
    assert train(2, 3)[0] == [0, 2, 1]
    prev = SALIClipPolicy(neighbour='previous')
    assert prev(0, 1) == ([0, 0, 0], 1)


def test_clips_and_supervision():
    train, test = SALIClipPolicy(), SALIClipPolicy(mode='test')
    assert train.clip_len == 3 and test.clip_len == 2
    assert train.clip_bounds == [(0, 1), (1, 2), (2, 3)]
    assert train.supervised_clips == [False, True, False]
    assert test.supervised_clips == [True, False]


def test_update_and_errors():
    policy = SALIClipPolicy()
    policy.update(max_skip=25)
    assert policy.max_skip == 25
    for bad in (0, 2.5, True):
        with pytest.raises(ValueError, match='max_skip'):
            policy.update(max_skip=bad)
        assert policy.max_skip == 25
    with pytest.raises(KeyError, match='no parameter'):
        policy.update(max_skp=3)
    with pytest.raises(ValueError, match='mode'):
        SALIClipPolicy(mode='val')
    with pytest.raises(ValueError, match='neighbour'):
        SALIClipPolicy(neighbour='past')
    with pytest.raises(IndexError, match='outside the video'):
        policy(3, 3)
    assert 'max_skip=25' in repr(policy)


def test_all_labels_packed_only_key_supervised(tmp_path):
    make_fake_sunseg(str(tmp_path), cases=1, frames=6)
    root = tmp_path / 'TrainDataset'
    imgs = sorted(str(p) for p in (root / 'Frame' / 'case1').iterdir())
    segs = sorted(str(p) for p in (root / 'GT' / 'case1').iterdir())
    pipeline = [
        TRANSFORMS.build(dict(type='SampleClip', policy=dict(
            type='SALIClipPolicy', max_skip=3))),
        TRANSFORMS.build(dict(type='LoadVideoFrames')),
        TRANSFORMS.build(dict(type='PackVideoSegInputs',
                              pack_clip_labels=True)),
    ]
    results = dict(video_id='case1', frame_id=5, video_img_paths=imgs,
                   video_seg_map_paths=segs)
    np.random.seed(0)
    for t in pipeline:
        results = t(results)
    sample = results['data_samples']
    mem, cur, nb = sample.frame_ids
    assert cur == 5 and nb == 4 and 1 <= mem <= 3
    assert sample.supervised == [False, True, False]
    assert sample.key_index == 1
    clip = sample.gt_clip_seg.data
    assert clip.shape == (3, 40, 48)
    # every frame's own mask, the memory frame's included (not ignore-filled)
    for t, fid in enumerate(sample.frame_ids):
        expected = cv2.imread(segs[fid], cv2.IMREAD_UNCHANGED)
        assert (clip[t].numpy() == expected).all(), (t, fid)
    assert not (clip[0] == clip[1]).all()  # the disk moves between frames
    assert (sample.gt_sem_seg.data[0] == clip[1]).all()
