import numpy as np
import pytest

from mmvidseg.datasets import (FirstFrameQueueClipPolicy,
                               FixedOffsetClipPolicy, RandomSkipClipPolicy,
                               ShiftedClipPolicy)
from mmvidseg.datasets.clip_policies import MissingFrameError
from mmvidseg.registry import TASK_UTILS


def test_fixed_offsets_clamp_and_order():
    policy = FixedOffsetClipPolicy(offsets=(-1, -2))
    assert policy(5, 10) == ([3, 4, 5], 2)
    # first frames: the first frame is repeated as memory
    assert policy(0, 10) == ([0, 0, 0], 2)
    assert policy(1, 10) == ([0, 0, 1], 2)
    future = FixedOffsetClipPolicy(offsets=(-1, 1))
    assert future(9, 10) == ([8, 9, 9], 1)
    assert FixedOffsetClipPolicy(offsets=())(4, 10) == ([4], 0)


def test_fixed_offsets_by_frame_number():
    nums = [10, 11, 12, 14, 15, 20]  # 13 and 16..19 are missing
    policy = FixedOffsetClipPolicy(offsets=(-2, -1))
    assert policy(2, 6, frame_numbers=nums) == ([0, 1, 2], 2)
    # start of the video: the first frame is repeated
    assert policy(0, 6, frame_numbers=nums) == ([0, 0, 0], 2)
    assert policy(1, 6, frame_numbers=nums) == ([0, 0, 1], 2)
    with pytest.raises(MissingFrameError, match='frame number 13') as e:
        policy(3, 6, frame_numbers=nums)  # needs 12 and 13
    assert (e.value.frame_number, e.value.key_number) == (13, 14)
    # positions would have taken 11 and 12 silently
    assert policy(3, 6) == ([1, 2, 3], 2)
    nearest = FixedOffsetClipPolicy(offsets=(-2, -1), missing_frames='nearest')
    assert nearest(3, 6, frame_numbers=nums) == ([2, 2, 3], 2)  # 13 -> 12
    # 18 -> 20 (2 away) rather than 15 (3 away); 19 -> 20
    assert nearest(5, 6, frame_numbers=nums) == ([5, 5, 5], 2)
    with pytest.raises(ValueError, match='frame numbers for'):
        policy(1, 6, frame_numbers=nums[:3])
    with pytest.raises(ValueError, match='missing_frames'):
        FixedOffsetClipPolicy(missing_frames='skip')


def test_sample_clip_missing_frame_names_the_file():
    from mmvidseg.registry import TRANSFORMS
    t = TRANSFORMS.build(dict(
        type='SampleClip', policy=dict(type='FixedOffsetClipPolicy')))
    results = dict(
        video_id='v', frame_id=2, video_img_paths=['a', 'b', 'd'],
        video_seg_map_paths=None, video_frame_numbers=[1, 2, 4],
        video_frame_path_fmt='seq/v_{:03d}.png',
        video_key_img_paths=[None, None, 'labelled/v_004.png'])
    with pytest.raises(FileNotFoundError, match=r"'seq/v_003.png'"):
        t(dict(results))
    out = t(dict(results, video_frame_numbers=[2, 3, 4]))
    # memory frames from the table, the key from its labelled image
    assert out['img_path'] == ['a', 'b', 'labelled/v_004.png']
    assert out['frame_ids'] == [0, 1, 2] and out['key_index'] == 2
    assert 'video_key_img_paths' not in out


def test_fixed_offsets_errors():
    with pytest.raises(ValueError, match='offset 0'):
        FixedOffsetClipPolicy(offsets=(0, -1))
    with pytest.raises(IndexError, match='outside the video'):
        FixedOffsetClipPolicy()(10, 10)
    with pytest.raises(ValueError, match='empty video'):
        FixedOffsetClipPolicy()(0, 0)


def test_random_skip_within_range():
    np.random.seed(0)
    policy = TASK_UTILS.build(
        dict(type='RandomSkipClipPolicy', num_refs=3, max_skip=4))
    seen = set()
    for _ in range(200):
        ids, key = policy(10, 20)
        assert key == 3 and ids[-1] == 10
        assert ids[:-1] == sorted(ids[:-1])
        assert all(6 <= i <= 9 for i in ids[:-1])
        seen.update(ids[:-1])
    assert seen == {6, 7, 8, 9}
    assert policy(0, 20) == ([0, 0, 0, 0], 3)
    ids, _ = policy(1, 20)  # one candidate only: drawn with replacement
    assert ids == [0, 0, 0, 1]


def test_random_skip_curriculum_update():
    policy = RandomSkipClipPolicy(num_refs=1, max_skip=1)
    policy.update(max_skip=3)
    assert policy.max_skip == 3
    with pytest.raises(KeyError, match='no parameter'):
        policy.update(max_skp=3)


def test_shifted_clip_matches_ms_tfal():
    policy = ShiftedClipPolicy(clip_len=4, shift=-1)
    ids, key = policy(10, 149)
    assert ids[:4] == [7, 8, 9, 10] and ids[4:] == [6, 7, 8, 9]
    assert key == 3
    # near the start: forward clip reversed; frame 0's previous is frame 1
    ids, key = policy(1, 149)
    assert ids[:4] == [4, 3, 2, 1] and ids[4:] == [3, 2, 1, 0]
    ids, _ = policy(0, 149)
    assert ids[:4] == [3, 2, 1, 0] and ids[4:] == [4, 3, 2, 1]
    assert policy.clip_len == 8


# MS-TFAL (BeileiCui/MS-TFAL@538475e) dataset/Endovis2018_MS_TFAL.py,
# ``endovis2018('train', t=4)._load_data(1, frame, 4)`` on a fake 10-frame
# video whose frame f has the value 10 f (torchvision/albumentations stubbed;
# /tmp/m4_golden/golden_clips.py): (clip, shifted clip) per key frame.
MSTFAL_CLIPS_10 = [
    ([3, 2, 1, 0], [4, 3, 2, 1]), ([4, 3, 2, 1], [3, 2, 1, 0]),
    ([5, 4, 3, 2], [4, 3, 2, 1]), ([6, 5, 4, 3], [5, 4, 3, 2]),
    ([1, 2, 3, 4], [6, 5, 4, 3]), ([2, 3, 4, 5], [1, 2, 3, 4]),
    ([3, 4, 5, 6], [2, 3, 4, 5]), ([4, 5, 6, 7], [3, 4, 5, 6]),
    ([5, 6, 7, 8], [4, 5, 6, 7]), ([6, 7, 8, 9], [5, 6, 7, 8])]


def test_shifted_clip_matches_mstfal_dataset():
    policy = ShiftedClipPolicy(clip_len=4, shift=-1)
    for frame, (clip, shifted) in enumerate(MSTFAL_CLIPS_10):
        assert policy(frame, 10) == (clip + shifted, 3), frame


def test_shifted_clip_short_video_and_positive_shift():
    # forward clip past the end: backward clip if it fits, else clamped
    assert ShiftedClipPolicy(clip_len=4)(3, 5)[0][:4] == [0, 1, 2, 3]
    assert ShiftedClipPolicy(clip_len=4)(2, 5)[0][:4] == [4, 4, 3, 2]
    # shift +1: the last frame's "next" frame is the one before it
    ids, key = ShiftedClipPolicy(clip_len=2, shift=1)(9, 10)
    assert (ids, key) == ([8, 9, 7, 8], 1)


def test_first_frame_queue():
    policy = FirstFrameQueueClipPolicy(queue_len=3)
    assert policy(5, 10) == ([0, 2, 3, 4, 5], 4)
    assert policy(1, 10) == ([0, 0, 0, 0, 1], 4)
    assert policy(0, 10) == ([0, 0, 0, 0, 0], 4)


def test_clip_bounds():
    assert FixedOffsetClipPolicy(offsets=(-2, -1)).clip_bounds == [(0, 3)]
    assert FirstFrameQueueClipPolicy(queue_len=3).clip_bounds == [(0, 5)]
    assert RandomSkipClipPolicy(num_refs=2).supervised_clips == [True]
    shifted = ShiftedClipPolicy(clip_len=4, shift=-1)
    assert shifted.clip_bounds == [(0, 4), (4, 8)]
    # MS-TFAL supervises the clip; the shifted clip feeds the affinity
    assert shifted.supervised_clips == [True, False]
    assert ShiftedClipPolicy(supervise_shifted=True).supervised_clips == [
        True, True]


def _sample(policy, frame_id, labelled):
    from mmvidseg.registry import TRANSFORMS
    return TRANSFORMS.build(dict(type='SampleClip', policy=policy))(dict(
        frame_id=frame_id,
        video_img_paths=[f'{i}.png' for i in range(len(labelled))],
        video_seg_map_paths=[f'{i}_gt.png' if lab else None
                             for i, lab in enumerate(labelled)]))


def test_sample_clip_bounds_and_supervised_frames():
    labelled = [True, False] * 5
    out = _sample(ShiftedClipPolicy(clip_len=3, shift=-1), 6, labelled)
    assert out['frame_ids'] == [4, 5, 6, 3, 4, 5]
    assert out['clip_bounds'] == [(0, 3), (3, 6)]
    # labelled frames of the supervised (first) clip only
    assert out['supervised'] == [True, False, True, False, False, False]
    out = _sample(ShiftedClipPolicy(clip_len=3, supervise_shifted=True), 6,
                  labelled)
    assert out['supervised'] == [True, False, True, False, True, False]
    out = _sample(FixedOffsetClipPolicy(offsets=(-1, )), 3, labelled)
    assert out['clip_bounds'] == [(0, 2)]
    assert out['supervised'] == [True, False]


def test_sample_clip_rejects_bad_bounds():
    from mmvidseg.registry import TRANSFORMS

    class Gappy(FixedOffsetClipPolicy):

        @property
        def clip_bounds(self):
            return [(0, 1), (2, 3)]

    t = TRANSFORMS.build(dict(type='SampleClip', policy=Gappy()))
    with pytest.raises(ValueError, match=r'Gappy.clip_bounds .* do not tile'):
        t(dict(frame_id=5, video_img_paths=['x'] * 10))
