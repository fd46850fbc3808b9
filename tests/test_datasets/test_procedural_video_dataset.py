import os

import numpy as np
import pytest

from mmvidseg.datasets import ProceduralVideoDataset
from mmvidseg.datasets.procedural_video import class_names, render_video


def test_render_is_deterministic():
    a_frames, a_masks = render_video(3, 5, (48, 64), 5)
    b_frames, b_masks = render_video(3, 5, (48, 64), 5)
    c_frames, _ = render_video(4, 5, (48, 64), 5)
    assert a_frames[0].shape == (48, 64, 3) and a_masks[0].shape == (48, 64)
    for x, y in zip(a_frames + a_masks, b_frames + b_masks):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a_frames[0], c_frames[0])
    assert set(np.unique(np.concatenate(a_masks))) <= set(range(5))
    # objects move: masks change over time
    assert not np.array_equal(a_masks[0], a_masks[-1])


def test_render_bad_args():
    with pytest.raises(ValueError, match='num_classes'):
        render_video(0, 3, (16, 16), 1)
    with pytest.raises(ValueError, match='num_frames'):
        render_video(0, 0, (16, 16), 3)


def test_dataset_frame_table_kept_once(tmp_path):
    ds = ProceduralVideoDataset(
        num_videos=3, num_frames=5, num_classes=3, img_size=(32, 32),
        seed=7, label_every=2, cache_dir=str(tmp_path))
    assert ds.metainfo['classes'] == class_names(3)
    assert len(ds.video_table) == 3
    # labelled frames 0, 2, 4 of each video are the items
    assert len(ds) == 9
    raw = ds.data_list if ds.data_list else None
    info = ds.get_data_info(1)
    assert info['video_id'] == 'video_000' and info['frame_id'] == 2
    assert len(info['video_img_paths']) == 5
    assert info['video_seg_map_paths'][1] is None
    # the items themselves do not carry the frame list
    assert raw is None or 'video_img_paths' not in raw[0]
    assert ds.video_indices()['video_001'] == [3, 4, 5]
    # the cache is rendered once, completely, and reused
    entries = os.listdir(tmp_path)
    assert len(entries) == 1 and not entries[0].startswith('.tmp')
    ds2 = ProceduralVideoDataset(
        num_videos=3, num_frames=5, num_classes=3, img_size=(32, 32),
        seed=7, frames='all', cache_dir=str(tmp_path))
    assert len(ds2) == 15 and os.listdir(tmp_path) == entries


def test_dataset_pipeline_output(tmp_path):
    ds = ProceduralVideoDataset(
        num_videos=2, num_frames=4, num_classes=3, img_size=(32, 40),
        cache_dir=str(tmp_path),
        pipeline=[
            dict(type='SampleClip',
                 policy=dict(type='FixedOffsetClipPolicy', offsets=(-2, -1))),
            dict(type='LoadVideoFrames'),
            dict(type='PackVideoSegInputs'),
        ])
    out = ds[5]  # video_001, frame 1
    assert out['inputs'].shape == (3, 3, 32, 40)
    sample = out['data_samples']
    assert sample.video_id == 'video_001' and sample.frame_id == 1
    assert sample.frame_ids == [0, 0, 1] and sample.key_index == 2
    assert sample.gt_clip_seg.data.shape == (3, 32, 40)
    assert sample.gt_sem_seg.data.shape == (1, 32, 40)
    assert sample.img_path.endswith('video_001/00001.png')
