import os.path as osp

import cv2
import numpy as np
from mmengine.config import Config

from mmvidseg.utils.noisy_label_check import (CHOLEC_TO_ID,
                                              build_cholec_endovis,
                                              check_configs, cholec_ids)


def test_cholec_ids_map_codes_to_consecutive_ids():
    codes = np.array([[50, 11, 31], [255, 23, 32]], np.uint8)
    assert cholec_ids(codes).tolist() == [[0, 1, 6], [0, 0, 7]]
    assert sorted(CHOLEC_TO_ID.values()) == list(range(8))


def test_build_layout_and_configs(tmp_path, shared_data, repo_root):
    clip = osp.join(shared_data, 'cholecseg8k_clip')
    root = str(tmp_path / 'data')
    layout = build_cholec_endovis(clip, root, frames_per_seq=2,
                                  size=(56, 32))
    assert layout == {'train': [1, 2, 3], 'test': [4]}
    label = cv2.imread(osp.join(root, 'test', 'seq_4', 'class_labels',
                                'frame001.png'), cv2.IMREAD_UNCHANGED)
    codes = cv2.imread(osp.join(clip, 'masks', '00568.png'),
                       cv2.IMREAD_GRAYSCALE)  # the 8th frame of the clip
    expected = cv2.resize(cholec_ids(codes), (56, 32),
                          interpolation=cv2.INTER_NEAREST)
    assert label.shape == (32, 56) and np.array_equal(label, expected)
    assert (label == 6).any()  # the grasper is in every frame
    paths = check_configs(
        osp.join(repo_root, 'configs', 'ms_tfal',
                 'mstfal_r18-d8_1xb1-clip4-amp-25e_endovis18-256x320.py'),
        root, str(tmp_path / 'work'), epochs=3, scale=(56, 32))
    plain, mstfal = (Config.fromfile(paths[k]) for k in ('plain', 'mstfal'))
    # the same budget, data and seed; only MS-TFAL's hook differs
    assert plain.custom_hooks == [] and \
        mstfal.custom_hooks[0]['type'] == 'MSTFALHook'
    for key in ('train_cfg', 'optim_wrapper', 'randomness',
                'train_dataloader', 'test_dataloader'):
        assert plain[key] == mstfal[key], key
    assert 'train_noisy_label' in plain.train_dataloader.dataset.label_dir
    assert plain.test_dataloader.dataset.label_dir == 'class_labels'
    assert plain.model.loss.n_min == 56 * 32 // 16
