"""Majority vote and mutual-agreement certainty of prediction runs (the
FLARE22 method's filter_most_certainty.py)."""
import csv
import json
import os
import os.path as osp

import numpy as np
import pytest

from mmvidseg.apis import (filter_pseudo_labels, majority_vote,
                           vote_and_certainty)
from mmvidseg.apis.pseudo_label import organ_iou

nib = pytest.importorskip('nibabel')


def noisy_runs(seed, num_runs, shape, max_id=14, noise=0.3):
    """N label volumes: one seeded base map with a fraction re-drawn."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, max_id, size=shape)
    runs = []
    for _ in range(num_runs):
        r = base.copy()
        flip = rng.random(shape) < noise
        r[flip] = rng.integers(0, max_id, size=int(flip.sum()))
        runs.append(r)
    return np.stack(runs).astype(np.uint8)


def checksum(a):
    a = np.asarray(a).astype(np.int64)
    return int(a.sum()), int((a * np.arange(a.size).reshape(a.shape) %
                              9973).sum())


# Golden: kaylode/ivos @ 276ee41, tools/postprocess/filter_most_certainty.py
# get_certainty_score_one_mask(runs[, target_mask]) (torch one-hot, chunks of
# T // 3 slices) on the runs made by `noisy_runs` above (same generator in
# the golden script `golden_certainty.py`, run outside the repo). The input
# checksums pin the inputs the literals were computed on.
GOLDEN = {
    # name: (seed, runs, shape, max_id, noise, input checksum, certainty,
    #        vote checksum)
    'A': (1, 3, (6, 5, 7), 14, 0.3, (4211, 1360098), 0.5911227710162982,
          (1302, 140063)),
    'B': (2, 4, (4, 4, 9), 4, 0.5, (875, 251787), 0.8832477871806192,
          (177, 12392)),
}
GOLDEN_PGT = (3, (1357, 142444), 0.05081638512321009)  # -g mode on A
GOLDEN_A_VOTE_SLICE0 = [[6, 13, 3, 10, 1], [0, 0, 13, 10, 1],
                        [10, 6, 3, 7, 7], [2, 3, 6, 3, 3], [12, 5, 6, 9, 12],
                        [2, 10, 3, 10, 6]]


@pytest.mark.parametrize('name', sorted(GOLDEN))
def test_golden_vote_and_certainty(name):
    seed, n, shape, max_id, noise, in_sum, certainty, vote_sum = GOLDEN[name]
    runs = noisy_runs(seed, n, shape, max_id, noise)
    assert checksum(runs) == in_sum
    vote, score = vote_and_certainty(runs)
    # the original sums float32 IoUs into float64
    assert score == pytest.approx(certainty, rel=1e-7)
    assert checksum(vote) == vote_sum and vote.dtype == np.uint8
    if name == 'A':
        assert vote[..., 0].tolist() == GOLDEN_A_VOTE_SLICE0


def test_golden_given_pseudo_gt():
    runs = noisy_runs(*GOLDEN['A'][:5])
    seed, in_sum, certainty = GOLDEN_PGT
    pgt = noisy_runs(seed, 1, (6, 5, 7))[0]
    assert checksum(pgt) == in_sum
    label, score = vote_and_certainty(runs, pseudo_gt=pgt)
    assert score == pytest.approx(certainty, rel=1e-7)
    np.testing.assert_array_equal(label, pgt)  # the pseudo-GT is kept


def test_identical_runs_and_ties():
    runs = noisy_runs(5, 3, (5, 4, 6))
    same = np.stack([runs[0]] * 3)
    vote, score = vote_and_certainty(same)
    assert score == 1.0
    np.testing.assert_array_equal(vote, runs[0])
    # two runs disagree on one column of 3 slices: ties -> lowest id
    tie = np.zeros((2, 3, 3, 3), np.uint8)
    tie[0, 0, 0] = 2
    tie[1, 0, 0] = 5
    vote, score = vote_and_certainty(tie)
    assert vote[0, 0].tolist() == [2, 2, 2] and vote.sum() == 6
    # run 0 agrees (13/13); run 1: organ 2 missed (0), organ 5 predicted
    # where the vote is empty (0) -> 11/13
    assert score == pytest.approx((1 + 11 / 13) / 2)
    assert majority_vote(np.array([[3], [1], [3], [1]]))[0] == 1
    assert majority_vote(np.array([[3], [1], [3]]))[0] == 3


def test_iou_rules_by_hand():
    pred = np.array([0, 1, 1, 2, 0, 0])
    target = np.array([0, 1, 0, 0, 0, 3])
    iou = organ_iou(pred, target, num_classes=5)
    # organ 1: 1 / 2; organ 2: target empty, pred not -> 0; organ 3: pred
    # empty, target not -> 0; organ 4: both empty -> 1
    np.testing.assert_allclose(iou, [0.5, 0., 0., 1.])


def test_chunks_follow_the_original():
    # T = 7 -> chunks of 7 // 3 = 2 slices: [0, 2), [2, 4), [4, 6), [6, 7),
    # four chunks of equal weight; only the last one disagrees
    runs = np.zeros((2, 1, 1, 7), np.uint8)
    runs[1, ..., 6] = 1
    _, score = vote_and_certainty(runs, num_classes=2)
    # last chunk: vote 0 (tie), run 1 predicts organ 1 where the vote is
    # empty -> IoU 0; mean over runs 0.5; mean over 4 chunks 0.875
    assert score == pytest.approx((1 + 1 + 1 + 0.5) / 4)
    # T < 3: chunks of one slice (the original cannot split by 0)
    _, score = vote_and_certainty(runs[..., 5:], num_classes=2)
    assert score == pytest.approx(0.75)
    with pytest.raises(ValueError, match='outside 0..1'):
        vote_and_certainty(runs + 1, num_classes=2)


def write_run(folder, case, labels, affine=None):
    os.makedirs(folder, exist_ok=True)
    affine = np.diag([0.8, 0.8, 2.5, 1.]) if affine is None else affine
    path = osp.join(folder, f'{case}.nii.gz')
    nib.Nifti1Image(labels.astype(np.uint8), affine).to_filename(path)
    return path


def test_filter_writes_kept_labels_and_report(tmp_path):
    good = noisy_runs(7, 3, (6, 5, 9), max_id=3, noise=0.02)
    bad = noisy_runs(8, 3, (6, 5, 9), max_id=14, noise=0.6)
    runs = [str(tmp_path / f'run{i}') for i in range(3)]
    for i, d in enumerate(runs):
        write_run(d, 'Case_00001', good[i])
        write_run(d, 'Case_00002', bad[i])
    out = str(tmp_path / 'out')
    stale = write_run(out, 'Case_00002', bad[0])  # from an earlier call
    report = filter_pseudo_labels(runs, out, threshold=0.9, progress=False)
    scores = {r['case']: r['certainty'] for r in report['cases']}
    assert scores['Case_00001'] == pytest.approx(vote_and_certainty(good)[1])
    assert scores['Case_00001'] >= 0.9 > scores['Case_00002']
    assert report['kept'] == 1 and report['total'] == 2
    assert not osp.exists(stale)
    saved = nib.load(osp.join(out, 'Case_00001.nii.gz'))
    np.testing.assert_array_equal(np.asanyarray(saved.dataobj),
                                  majority_vote(good))
    assert saved.get_data_dtype() == np.uint8
    np.testing.assert_allclose(saved.affine, np.diag([0.8, 0.8, 2.5, 1.]))
    np.testing.assert_allclose(saved.header.get_zooms(), (0.8, 0.8, 2.5))
    with open(osp.join(out, 'report.csv')) as f:
        rows = list(csv.DictReader(f))
    assert [(r['case'], r['kept']) for r in rows] == [('Case_00001', 'True'),
                                                      ('Case_00002', 'False')]
    with open(osp.join(out, 'report.json')) as f:
        assert json.load(f)['cases'][1]['kept'] is False
    assert sorted(os.listdir(out)) == [
        'Case_00001.nii.gz', 'report.csv', 'report.json'
    ]


def test_filter_with_pseudo_gt_and_errors(tmp_path):
    runs = noisy_runs(9, 2, (4, 4, 6), max_id=3, noise=0.05)
    dirs = [str(tmp_path / 'r0'), str(tmp_path / 'r1')]
    for i, d in enumerate(dirs):
        write_run(d, 'a', runs[i])
        write_run(d, 'b', runs[i])
    pgt = np.zeros((4, 4, 6), np.uint8)
    write_run(str(tmp_path / 'pgt'), 'a', pgt)  # 'b' has none: left out
    report = filter_pseudo_labels(dirs, str(tmp_path / 'o'), threshold=0.,
                                  pgt_dir=str(tmp_path / 'pgt'),
                                  progress=False, num_classes=3)
    assert report['without_pgt'] == ['b'] and report['total'] == 1
    assert report['cases'][0]['certainty'] == pytest.approx(
        vote_and_certainty(runs, pgt, num_classes=3)[1])
    kept = nib.load(str(tmp_path / 'o' / 'a.nii.gz'))
    assert not np.asanyarray(kept.dataobj).any()  # the pseudo-GT itself
    write_run(dirs[1], 'b', runs[1][:, :, :5])
    with pytest.raises(ValueError, match=r'r1.b\.nii\.gz.*shape'):
        filter_pseudo_labels(dirs, str(tmp_path / 'o'), progress=False)
    os.remove(osp.join(dirs[1], 'b.nii.gz'))
    with pytest.raises(FileNotFoundError, match=r"'b' is missing from run"):
        filter_pseudo_labels(dirs, str(tmp_path / 'o'), progress=False)
    write_run(dirs[1], 'b', runs[1], affine=np.diag([1., 1., 3., 1.]))
    with pytest.raises(ValueError, match='affine'):
        filter_pseudo_labels(dirs, str(tmp_path / 'o'), progress=False)
    write_run(dirs[1], 'b', runs[1] + 20)
    with pytest.raises(ValueError, match=r'b\.nii\.gz.*outside 0..13'):
        filter_pseudo_labels(dirs, str(tmp_path / 'o'), progress=False)
