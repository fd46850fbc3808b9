"""Temporally coherent noise of one video (MS-TFAL generator)."""
import cv2
import numpy as np
import pytest

from mmvidseg.datasets.noise import (NOISE_TYPES, NoiseConfig, choose_type,
                                     count_noise, dilate_mask, noise_ratios,
                                     noise_video, split_segments)
from mmvidseg.datasets.noise.video_noise import add_counts, type_counts


def make_video(num_frames=12, shape=(48, 64), thread=True):
    """Class 1 (moving box), 2 (disc, absent from frame 0), 6 (thin line)."""
    frames = []
    for t in range(num_frames):
        lbl = np.zeros(shape, np.uint8)
        lbl[10:30, 5 + t:25 + t] = 1
        if t:
            cv2.circle(lbl, (45, 20 + t % 5), 8, 2, -1)
        if thread:
            cv2.line(lbl, (5, 40), (60, 44), 6, 2)
        frames.append(lbl)
    return frames


def forced(noise_type, **kwargs):
    probs = tuple(float(t == noise_type) for t in NOISE_TYPES)
    return NoiseConfig(type_probs=probs, **kwargs)


def test_split_segments_lengths_and_tail_rule():
    rng = np.random.default_rng(0)
    for n in range(1, 60):
        for _ in range(3):
            lengths = split_segments(n, rng)
            assert sum(lengths) == n
            assert all(3 <= x <= 6 for x in lengths[:-1])
            assert 1 <= lengths[-1] <= 6
            # the tail starts once at most 6 frames remain
            assert n - sum(lengths[:-1]) <= 6
    assert split_segments(5, rng) == [5]
    assert split_segments(0, rng) == []


def test_choose_type_thresholds():
    probs = NoiseConfig().type_probs
    assert [
        choose_type(u, probs)
        for u in (0., 0.2499, 0.25, 0.5, 0.74, 0.75, 0.9999)
    ] == [
        'dilate', 'dilate', 'erode', 'affine', 'affine', 'polygon', 'polygon'
    ]
    thread = NoiseConfig().thread_type_probs
    assert [choose_type(u, thread) for u in (0.1, 0.3, 0.6, 0.99)
            ] == ['dilate', 'erode', 'affine', 'affine']


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match='type_probs'):
        NoiseConfig(type_probs=(0.5, 0.5, 0.5, 0.))
    with pytest.raises(ValueError, match='radius'):
        NoiseConfig(radius=(5, 2))
    with pytest.raises(ValueError, match='num_rays'):
        NoiseConfig(num_rays=(2, 4))


def test_same_seed_same_noise_other_seed_differs():
    video = make_video()
    cfg = NoiseConfig(radius=(2, 5))
    a, rec_a = noise_video(video, np.random.default_rng(7), cfg)
    b, rec_b = noise_video(video, np.random.default_rng(7), cfg)
    c, rec_c = noise_video(video, np.random.default_rng(8), cfg)
    assert rec_a == rec_b
    assert all((x == y).all() for x, y in zip(a, b))
    assert rec_a != rec_c or any((x != y).any() for x, y in zip(a, c))
    assert all(x.dtype == np.uint8 and x.shape == (48, 64) for x in a)


def test_segments_share_type_and_radius():
    video = make_video(30)
    cfg = forced('dilate', radius=(1, 6))
    noisy, records = noise_video(video, np.random.default_rng(0), cfg)
    assert sum(r['length'] for r in records) == 30
    assert all(3 <= r['length'] <= 6 for r in records[:-1])
    radii = set()
    for rec in records:
        box = rec['classes'][0]
        assert box['cls'] == 1 and box['frames'] == rec['length']
        radii.add(box['radius'])
        # one radius for the whole segment: the box grows by it in every
        # frame (class 2, pasted later, may cover part of it)
        for t in range(rec['start'], rec['start'] + rec['length']):
            grown = dilate_mask(video[t] == 1, box['radius'])
            assert (noisy[t][grown] >= 1).all()
            assert not ((noisy[t] == 1) & ~grown).any()
    assert len(radii) > 1  # drawn per segment


def test_each_forced_type_has_its_effect():
    video = make_video(6, thread=False)
    area = [int((v == 1).sum()) for v in video]
    out = {
        t:
        noise_video(video, np.random.default_rng(1), forced(t,
                                                            radius=(3, 3)))[0]
        for t in NOISE_TYPES
    }
    for t in range(6):
        assert (out['dilate'][t] == 1).sum() > area[t]
        assert 0 < (out['erode'][t] == 1).sum() < area[t]
        assert (out['polygon'][t] != video[t]).any()
    moved = [(out['affine'][t] == 1) != (video[t] == 1) for t in range(6)]
    assert all(m.any() for m in moved)


def test_affine_is_redrawn_per_frame():
    # identical frames: a segment-coherent affine would give equal outputs
    video = [make_video(1, thread=False)[0]] * 6
    cfg = forced('affine', segment_length=(6, 6))
    noisy, records = noise_video(video, np.random.default_rng(2), cfg)
    assert len(records) == 1
    assert any((noisy[0] != noisy[t]).any() for t in range(1, 6))


def test_thread_class_never_gets_polygon():
    video = make_video(40)
    cfg = forced('polygon', radius=(1, 2))
    _, records = noise_video(video, np.random.default_rng(0), cfg)
    types = {(c['cls'], c['type']) for r in records for c in r['classes']}
    assert {t for c, t in types if c == 6} <= {'dilate', 'erode', 'affine'}
    assert {t for c, t in types if c != 6} == {'polygon'}
    # without a thread class, class 6 is like the others
    _, records = noise_video(video, np.random.default_rng(0),
                             forced('polygon', thread_class=None))
    assert {c['type'] for r in records for c in r['classes']} == {'polygon'}


def test_background_only_grows_under_noised_classes():
    video = make_video(6)
    far = np.ones((48, 64), bool)
    for v in video:
        far &= cv2.dilate((v > 0).astype(np.uint8), np.ones((9, 9),
                                                            np.uint8)) == 0
    assert far.any()
    for t in ('dilate', 'erode'):
        noisy, _ = noise_video(video, np.random.default_rng(0),
                               forced(t, radius=(3, 4), thread_class=None))
        for clean, out in zip(video, noisy):
            assert (out[far] == 0).all()
            if t == 'erode':  # erosion never takes background
                assert (out[clean == 0] == 0).all()
    empty = [np.zeros((16, 16), np.uint8)] * 4
    noisy, records = noise_video(empty, np.random.default_rng(0))
    assert all((x == 0).all() for x in noisy)
    assert all(r['classes'] == [] for r in records)


def test_higher_class_is_pasted_last():
    lbl = np.zeros((20, 20), np.uint8)
    lbl[5:10, 2:9] = 1
    lbl[5:10, 11:18] = 2
    noisy, _ = noise_video([lbl] * 3, np.random.default_rng(0),
                           forced('dilate', radius=(3, 3)))
    # the gap (columns 9, 10) is reached by both dilations: class 2 wins
    assert (noisy[0][5:10, 9:11] == 2).all()


def test_counts_equal_a_direct_count():
    video = make_video(8)
    noisy, records = noise_video(video, np.random.default_rng(5),
                                 NoiseConfig(radius=(2, 4)))
    total = {}
    for clean, out in zip(video, noisy):
        add_counts(total, count_noise(clean, out))
    changed = sum(int((c != o).sum()) for c, o in zip(video, noisy))
    labelled = sum(int((c != 0).sum()) for c in video)
    ratios = noise_ratios(total)
    assert total['changed'] == changed
    assert ratios['noise_ratio'] == changed / (8 * 48 * 64)
    assert ratios['labelled_noise_ratio'] == changed / labelled
    clean1 = sum(int((c == 1).sum()) for c in video)
    diff1 = sum(
        abs(int((o == 1).sum()) - int((c == 1).sum()))
        for c, o in zip(video, noisy))
    assert ratios['class_noise_ratio'][1] == diff1 / (clean1 + diff1)
    counted = type_counts(records)
    assert sum(counted['draws'].values()) == sum(
        len(r['classes']) for r in records)
    # class 2 is absent from frame 0: 7 frames of it
    assert sum(counted['masks'].values()) == 8 + 7 + 8
