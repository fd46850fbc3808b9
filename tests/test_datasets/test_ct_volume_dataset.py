"""CTVolumeDataset on the shared CT laid out as FLARE22, and the two
FLARE22 dataset base configs."""
import os
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.runner import Runner

from mmvidseg.datasets import CTVolumeDataset
from mmvidseg.datasets.flare22_meta import FLARE22_CLASSES
from mmvidseg.datasets.transforms import ct_multi_window
from mmvidseg.registry import DATASETS, TASK_UTILS, TRANSFORMS
from tests._flare_data import flare_label_volume, make_flare_layout

nib = pytest.importorskip('nibabel')

NUM_SLICES = 30
LABELLED = ('FLARE22_Tr_0001', 'FLARE22_Tr_0009')
UNLABELLED = ('Case_01751', )
CONFIGS = osp.join(osp.dirname(osp.dirname(osp.dirname(__file__))),
                   'configs', '_base_', 'datasets')


@pytest.fixture(scope='module')
def flare_root(shared_data, tmp_path_factory):
    root = tmp_path_factory.mktemp('flare22')
    make_flare_layout(root, shared_data, cases=LABELLED,
                      unlabelled=UNLABELLED)
    os.makedirs(root / 'splits')
    for name, cases in (('train', LABELLED[:1]), ('val', LABELLED[1:]),
                        ('unlabelled', UNLABELLED)):
        (root / 'splits' / f'{name}.txt').write_text(
            '# a comment\n' + '\n'.join(cases) + '\n\n')
    return str(root)


@pytest.fixture(scope='module')
def volumes(shared_data):
    """Canonical (RAS+) CT and FLARE labels, slices along the last axis."""
    ct = osp.join(shared_data, 'totalseg_ct', 'example_ct_sm.nii.gz')
    img = nib.as_closest_canonical(nib.load(ct))
    labels, seg = flare_label_volume(shared_data)
    lab = nib.as_closest_canonical(nib.Nifti1Image(labels, seg.affine))
    return np.asanyarray(img.dataobj), np.asanyarray(lab.dataobj)


def _ds(root, tmp_path, **kwargs):
    return CTVolumeDataset(data_root=root, cache_dir=str(tmp_path / 'cache'),
                           **kwargs)


def test_labelled_items_slice_position_and_classes(flare_root, tmp_path):
    ds = _ds(flare_root, tmp_path, ann_dir='labelsTr')
    assert ds.mode == 'labelled'
    assert ds.metainfo['classes'] == FLARE22_CLASSES
    assert len(ds.metainfo['palette']) == 14
    assert len(ds) == 2 * NUM_SLICES
    assert list(ds.video_indices()) == list(LABELLED)
    for idx, k in ((0, 0), (7, 7), (29, 29), (30, 0), (59, 29)):
        info = ds.get_data_info(idx)
        assert info['slice_index'] == k
        # the original: sid / number of slices of the volume
        assert info['slice_position'] == pytest.approx(k / NUM_SLICES)
        assert info['labelled'] is True
        assert info['num_slices'] == NUM_SLICES
        np.testing.assert_allclose(info['spacing'], (3, 3, 3), atol=1e-4)


def test_split_file_selects_and_orders_cases(flare_root, tmp_path):
    ds = _ds(flare_root, tmp_path, ann_dir='labelsTr',
             split='splits/val.txt')
    assert list(ds.video_indices()) == ['FLARE22_Tr_0009']
    absolute = osp.join(tmp_path, 'two.txt')
    with open(absolute, 'w') as f:
        f.write('FLARE22_Tr_0009\nFLARE22_Tr_0001\n')
    ds = _ds(flare_root, tmp_path, ann_dir='labelsTr', split=absolute)
    assert list(ds.video_indices()) == ['FLARE22_Tr_0009', 'FLARE22_Tr_0001']
    with pytest.raises(FileNotFoundError, match='nope.txt'):
        _ds(flare_root, tmp_path, ann_dir='labelsTr', split='nope.txt')
    with pytest.raises(ValueError, match='not both'):
        _ds(flare_root, tmp_path, ann_dir='labelsTr', split=absolute,
            cases=['FLARE22_Tr_0001'])
    with open(absolute, 'w') as f:
        f.write('FLARE22_Tr_0009\nFLARE22_Tr_0009\n')
    with pytest.raises(ValueError, match='twice'):
        _ds(flare_root, tmp_path, ann_dir='labelsTr', split=absolute)
    with open(absolute, 'w') as f:
        f.write('FLARE22_Tr_0404\n')
    with pytest.raises(FileNotFoundError, match='FLARE22_Tr_0404_0000'):
        _ds(flare_root, tmp_path, ann_dir='labelsTr', split=absolute)


def test_unlabelled_and_inference_modes(flare_root, tmp_path):
    un = _ds(flare_root, tmp_path, img_dir='unlabelled',
             split='splits/unlabelled.txt')
    assert un.mode == 'unlabelled' and un.frames == 'all'
    assert len(un) == NUM_SLICES and not un.test_mode
    info = un.get_data_info(12)
    assert info['labelled'] is False and info['seg_map_path'] is None
    assert info['slice_position'] == pytest.approx(12 / NUM_SLICES)
    inf = _ds(flare_root, tmp_path, img_dir='imagesTr', mode='inference')
    assert inf.test_mode and inf.frames == 'all' and len(inf) == 60
    assert not any(inf.get_data_info(i)['labelled'] for i in (0, 45))
    with pytest.raises(ValueError, match='needs ann_dir'):
        _ds(flare_root, tmp_path, mode='labelled')
    with pytest.raises(ValueError, match='drop ann_dir'):
        _ds(flare_root, tmp_path, mode='unlabelled', ann_dir='labelsTr')
    with pytest.raises(ValueError, match="frames='all'"):
        _ds(flare_root, tmp_path, mode='inference', frames='labelled')
    with pytest.raises(ValueError, match='mode must be'):
        _ds(flare_root, tmp_path, mode='train')


SLICE_META = ('video_id', 'frame_id', 'slice_index', 'num_slices',
              'slice_position', 'labelled', 'ori_shape', 'img_shape')


def test_slice_pipeline_packs_windows_labels_and_meta(flare_root, tmp_path,
                                                      volumes):
    vol, lab = volumes
    pipeline = [
        dict(type='LoadVolumeSlices', window=None),
        dict(type='CTMultiWindow'),
        dict(type='ClipToImage', fill_ignore_label=True),
        dict(type='PackSegInputs', meta_keys=SLICE_META),
    ]
    ds = _ds(flare_root, tmp_path, ann_dir='labelsTr', pipeline=pipeline)
    out = ds[30 + 14]  # second volume, slice 14
    meta = out['data_samples'].metainfo
    assert meta['video_id'] == 'FLARE22_Tr_0009' and meta['slice_index'] == 14
    assert meta['slice_position'] == pytest.approx(14 / 30)
    assert meta['labelled'] is True
    assert out['inputs'].shape == (3, 122, 101)
    np.testing.assert_array_equal(out['inputs'].permute(1, 2, 0).numpy(),
                                  ct_multi_window(vol[:, :, 14]))
    gt = out['data_samples'].gt_sem_seg.data[0].numpy()
    np.testing.assert_array_equal(gt, lab[:, :, 14])
    assert gt.max() > 0  # organs present
    un = _ds(flare_root, tmp_path, img_dir='unlabelled', pipeline=pipeline)
    out = un[3]
    assert out['data_samples'].metainfo['labelled'] is False
    assert (out['data_samples'].gt_sem_seg.data == 255).all()
    with pytest.raises(ValueError, match='one-frame clip'):
        TRANSFORMS.build(dict(type='ClipToImage'))(
            dict(img=[np.zeros((2, 2))] * 2))


def _cfg(name, root):
    cfg = Config.fromfile(osp.join(CONFIGS, name))
    cfg.val_dataloader.dataset.data_root = root
    return cfg


def test_cps_config_two_streams(flare_root):
    cfg = _cfg('flare22_cps_512x512.py', flare_root)
    assert cfg.train_dataloader.sampler.source_ratio == [2, 2]
    for d in cfg.train_dataloader.dataset.datasets:
        d.data_root = flare_root
    cfg.train_dataloader.update(num_workers=0, persistent_workers=False)
    loader = Runner.build_dataloader(cfg.train_dataloader, seed=0)
    batch = next(iter(loader))
    assert [tuple(x.shape) for x in batch['inputs']] == [(3, 512, 512)] * 4
    samples = batch['data_samples']
    assert [s.labelled for s in samples] == [True, True, False, False]
    assert [s.video_id for s in samples] == ['FLARE22_Tr_0001'] * 2 + [
        'Case_01751'
    ] * 2
    for s in samples:
        assert s.slice_position == pytest.approx(s.slice_index / 30)
        gt = s.gt_sem_seg.data
        assert gt.shape == (1, 512, 512)
        assert (gt == 255).all() != s.labelled


def test_val_pipeline_keeps_gt_at_original_size(flare_root, volumes):
    _, lab = volumes
    for name in ('flare22_cps_512x512.py', 'flare22_stcn_512x512.py'):
        cfg = _cfg(name, flare_root)
        assert cfg.val_evaluator == dict(type='VolumeDSCNSDMetric')
        assert cfg.val_dataloader.sampler.type == 'VideoSequentialSampler'
        ds = DATASETS.build(cfg.val_dataloader.dataset)
        assert len(ds) == 30 and list(ds.video_indices()) == [LABELLED[1]]
        out = ds[9]
        inputs = out['inputs']
        assert tuple(inputs.shape[-3:]) == (3, 512, 512)
        gt = out['data_samples'].gt_sem_seg.data
        assert tuple(gt.shape) == (1, 122, 101)
        np.testing.assert_array_equal(gt[0].numpy(), lab[:, :, 9])
        meta = out['data_samples'].metainfo
        assert meta['ori_shape'] == (122, 101)
        assert meta['slice_position'] == pytest.approx(0.3)


def test_stcn_config_triplets(flare_root):
    cfg = _cfg('flare22_stcn_512x512.py', flare_root)
    policy = cfg.train_dataloader.dataset.pipeline[0].policy
    assert policy == dict(type='STCNTripletClipPolicy', max_jump=25)
    if 'STCNTripletClipPolicy' not in TASK_UTILS.module_dict:
        pytest.skip('STCNTripletClipPolicy is not registered yet')
    cfg.train_dataloader.dataset.data_root = flare_root
    ds = DATASETS.build(cfg.train_dataloader.dataset)
    out = ds[5]
    assert tuple(out['inputs'].shape) == (3, 3, 512, 512)
    assert tuple(out['data_samples'].gt_clip_seg.data.shape) == (3, 512, 512)
    assert out['data_samples'].metainfo['labelled'] is True


def test_val_items_feed_the_volume_metric(flare_root):
    """The val pipeline's samples carry what VolumeDSCNSDMetric needs: the
    GT volume itself as prediction scores 1, a one-slice shift less."""
    from mmengine.structures import PixelData

    from mmvidseg.registry import METRICS
    if 'VolumeDSCNSDMetric' not in METRICS.module_dict:
        pytest.skip('VolumeDSCNSDMetric is not registered yet')
    cfg = _cfg('flare22_cps_512x512.py', flare_root)
    ds = DATASETS.build(cfg.val_dataloader.dataset)
    samples = [ds[i]['data_samples'] for i in range(len(ds))]
    scores = []
    for shift in (0, 1):
        metric = METRICS.build(cfg.val_evaluator)
        metric.dataset_meta = ds.metainfo
        for k, s in enumerate(samples):
            src = samples[max(k - shift, 0)].gt_sem_seg.data
            out = s.clone()
            out.pred_sem_seg = PixelData(data=src.clone())
            metric.process({}, [out.to_dict()])
        scores.append(metric.evaluate(1))
    assert scores[0]['mDSC'] == pytest.approx(1.0)
    assert scores[0]['mNSD'] == pytest.approx(1.0)
    assert 0.5 < scores[1]['mDSC'] < 0.99
