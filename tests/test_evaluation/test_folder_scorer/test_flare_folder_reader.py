"""FLAREFolderReader: NIfTI label volumes on disk -> official DSC / NSD."""
import os

import numpy as np
import pytest

from mmvidseg.evaluation.folder_scorer import (FOLDER_READERS,
                                               FLAREFolderReader,
                                               read_label_volume, score_folder)
from tests.test_evaluation._flare_cases import (make_flare_folders,
                                                synthetic_case, write_volume)
from tests.test_evaluation.test_functional.test_flare_measures import (
    SYNTH_CSV, SYNTH_DSC, SYNTH_IVOS_NSD, SYNTH_NSD)

nib = pytest.importorskip('nibabel')


def test_scores_with_the_header_spacing(tmp_path):
    assert FOLDER_READERS['flare'] is FLAREFolderReader
    gt_dir, pred_dir = make_flare_folders(tmp_path)
    report = score_folder(FLAREFolderReader(gt_dir, pred_dir))
    assert (report['videos'], report['frames']) == (2, 40)
    synth = report['per_case']['synth']
    names = ('Liver', 'RK', 'Spleen', 'Pancreas', 'Aorta', 'IVC', 'RAG',
             'LAG', 'Gallbladder', 'Esophagus', 'Stomach', 'Duodenum', 'LK')
    for j, name in enumerate(names):
        assert synth[name]['DSC'] == pytest.approx(SYNTH_DSC[j], rel=1e-13)
        assert synth[name]['NSD'] == pytest.approx(SYNTH_NSD[j], rel=1e-13)
    assert report['per_case']['perfect']['mNSD'] == 1
    assert report['overall']['mDSC'] == pytest.approx(
        (np.mean(SYNTH_DSC) + 1) / 2, rel=1e-13)
    # options: the method's rules at 1 mm, the official rounding
    report = score_folder(
        FLAREFolderReader(gt_dir, pred_dir, tolerance=1.0,
                          official_rules=False))
    assert report['options'] == dict(tolerance=1.0, rules='ivos',
                                     official_rounding=False)
    assert report['per_case']['synth']['mNSD'] == pytest.approx(
        np.mean(SYNTH_IVOS_NSD), rel=1e-13)
    report = score_folder(
        FLAREFolderReader(gt_dir, pred_dir, official_rounding=True), nproc=2)
    assert report['per_case']['synth']['Aorta']['DSC'] == SYNTH_CSV[4]
    assert report['overall']['mNSD'] == pytest.approx(
        (np.mean(SYNTH_CSV[13:]) + 1) / 2, abs=1e-12)


def test_clear_errors(tmp_path):
    gt_dir, pred_dir = make_flare_folders(tmp_path)
    os.remove(os.path.join(pred_dir, 'perfect.nii.gz'))
    with pytest.raises(FileNotFoundError, match="case 'perfect': prediction"):
        FLAREFolderReader(gt_dir, pred_dir).list_videos()
    gt, _ = synthetic_case()
    write_volume(os.path.join(pred_dir, 'perfect.nii.gz'), gt[:, :, :-1])
    with pytest.raises(ValueError, match=r"'perfect'.*shape"):
        FLAREFolderReader(gt_dir, pred_dir).list_videos()
    write_volume(os.path.join(pred_dir, 'perfect.nii.gz'), gt,
                 spacing=(1, 1, 1))
    with pytest.raises(ValueError, match="'perfect': the affine"):
        FLAREFolderReader(gt_dir, pred_dir).list_videos()
    bad = tmp_path / 'bad.nii.gz'
    write_volume(bad, gt + 0.5, dtype=np.float32)
    with pytest.raises(ValueError, match='not label ids'):
        read_label_volume(str(bad), 'prediction')
    with pytest.raises(ValueError, match='tolerance'):
        FLAREFolderReader(gt_dir, pred_dir, tolerance='x')
    os.makedirs(tmp_path / 'empty')
    with pytest.raises(FileNotFoundError, match='no .nii.gz volume'):
        FLAREFolderReader(str(tmp_path / 'empty'), pred_dir).list_videos()
