"""Labelled + unlabelled volumes in every batch through mmdet's
MultiSourceSampler (the set-up documented in BaseVolumeDataset)."""
import os
import os.path as osp
from unittest import mock

import numpy as np
import pytest
from mmengine.runner import Runner

from mmvidseg.registry import DATA_SAMPLERS, DATASETS

nib = pytest.importorskip('nibabel')


def _volumes(root, cases, labels):
    os.makedirs(osp.join(root, 'images'), exist_ok=True)
    os.makedirs(osp.join(root, 'labels'), exist_ok=True)
    for case in cases:
        data = np.zeros((4, 4, 3), np.int16)
        nib.Nifti1Image(data, np.eye(4)).to_filename(
            osp.join(root, 'images', f'{case}_0000.nii.gz'))
        if labels:
            nib.Nifti1Image(data.astype(np.uint8), np.eye(4)).to_filename(
                osp.join(root, 'labels', f'{case}.nii.gz'))
    return str(root)


def _concat_cfg(tmp_path):
    cache = str(tmp_path / 'cache')
    pipeline = [
        dict(type='SampleClip',
             policy=dict(type='FixedOffsetClipPolicy', offsets=(-1, ))),
        dict(type='LoadVolumeSlices'),
        dict(type='PackVideoSegInputs'),
    ]
    labelled = dict(type='NiftiVolumeDataset',
                    img_dir='images',
                    ann_dir='labels',
                    cache_dir=cache,
                    pipeline=pipeline,
                    data_root=_volumes(tmp_path / 'l', ('l0', 'l1'), True))
    unlabelled = dict(type='NiftiVolumeDataset',
                      img_dir='images',
                      frames='all',
                      cache_dir=cache,
                      pipeline=pipeline,
                      data_root=_volumes(tmp_path / 'u', ('u0', 'u1', 'u2'),
                                         False))
    return dict(type='ConcatDataset', datasets=[labelled, unlabelled])


def test_ratio_in_every_batch(tmp_path):
    loader = Runner.build_dataloader(dict(batch_size=4,
                                          num_workers=0,
                                          sampler=dict(
                                              type='mmdet.MultiSourceSampler',
                                              batch_size=4,
                                              source_ratio=[1, 3]),
                                          dataset=_concat_cfg(tmp_path)),
                                     seed=0)
    assert [len(d) for d in loader.dataset.datasets] == [6, 9]
    seen = set()
    it = iter(loader)
    for _ in range(8):  # 8 labelled items drawn from 6: beyond one pass
        batch = next(it)
        samples = batch['data_samples']
        assert batch['inputs'][0].shape == (2, 1, 4, 4)
        labelled = ['gt_sem_seg' in s for s in samples]
        assert sorted(labelled) == [False, False, False, True]
        for s, lab in zip(samples, labelled):
            assert s.video_id.startswith('l' if lab else 'u')
            seen.add((s.video_id, s.frame_id))
    assert len(seen) == 15  # every item of both streams was visited


def test_ranks_draw_disjoint_items(tmp_path):
    dataset = DATASETS.build(_concat_cfg(tmp_path))
    draws = []
    for rank in range(2):
        with mock.patch(
                'mmdet.datasets.samplers.multi_source_sampler.get_dist_info',
                return_value=(rank, 2)):
            sampler = DATA_SAMPLERS.build(dict(type='mmdet.MultiSourceSampler',
                                               batch_size=3,
                                               source_ratio=[1, 2]),
                                          default_args=dict(dataset=dataset,
                                                            seed=3))
        it = iter(sampler)
        # 2 batches: both ranks together stay within one pass of each source
        draws.append([next(it) for _ in range(6)])
    for idx in draws:
        for b in range(2):
            batch = idx[3 * b:3 * b + 3]
            assert batch[0] < 6 and all(i >= 6 for i in batch[1:])
    labelled = [set(i for i in idx if i < 6) for idx in draws]
    unlabelled = [set(i for i in idx if i >= 6) for idx in draws]
    assert len(labelled[0]) == len(labelled[1]) == 2
    assert not labelled[0] & labelled[1]
    assert not unlabelled[0] & unlabelled[1]
