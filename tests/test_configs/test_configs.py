"""Every config under configs/ loads, is well named and builds its model."""
import glob
import os.path as osp
import re

import pytest
import torch
from mmengine.config import Config

from mmvidseg.registry import DATASETS, MODELS
from mmvidseg.utils import check_config_keys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = sorted(
    p for p in glob.glob(osp.join(ROOT, 'configs', '*', '*.py'))
    if '_base_' not in p)
NAME = re.compile(r'^[a-z0-9]+_[a-z0-9-]+_\d+xb\d+-clip\d+(-amp)?-\d+(k|it|e)_'
                  r'[a-z0-9-]+-\d+x\d+\.py$')
# inference-only label propagation: {algo}_{extractor}_{T-k-R-L}_{data}
PROP_NAME = re.compile(r'^labelprop_[a-z0-9-]+_t[0-9.]+-k\d+-r\d+-l\d+_'
                       r'davis\d+-\d+p\.py$')


def _cpu_norm(cfg):
    """SyncBN -> BN (single CPU process); no pretrained download."""
    if isinstance(cfg, dict):
        if cfg.get('type') == 'SyncBN':
            cfg['type'] = 'BN'
        for v in cfg.values():
            _cpu_norm(v)
    elif isinstance(cfg, list):
        for v in cfg:
            _cpu_norm(v)


def _depth(path, seen=0):
    cfg_text = open(path).read()
    bases = re.findall(r"'(\.\.?/[^']+\.py)'", cfg_text)
    return max([seen] + [_depth(osp.normpath(osp.join(osp.dirname(path), b)),
                                seen + 1) for b in bases])


def test_configs_found():
    assert len(CONFIGS) >= 8


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_config_builds(path):
    name = osp.basename(path)
    assert NAME.match(name) or PROP_NAME.match(name), name
    assert _depth(path) <= 3
    cfg = Config.fromfile(path)
    check_config_keys(cfg)
    if cfg.model.type == 'LabelPropagator':
        return _check_label_propagation(cfg)
    if cfg.model.type == 'SALISegmentor':
        return _check_sali(cfg)
    if cfg.model.type == 'MSTFALSegmentor':
        return _check_mstfal(cfg)
    if cfg.model.type == 'STCN':
        return _check_stcn(cfg)
    if cfg.model.type == 'CPSSegmentor' or _packs_slice_position(cfg):
        return _check_cps(cfg)
    model_cfg = cfg.model.to_dict()
    model_cfg['pretrained'] = None
    model_cfg['backbone'].pop('init_cfg', None)
    _cpu_norm(model_cfg)
    model = MODELS.build(model_cfg).eval()
    head = model.decode_head
    # None: a head that reads any number of memory frames
    t = (getattr(head, 'num_memory_frames', None) or 2) + 1
    # every dataset config's clip length matches the head
    for split in ('train_dataloader', 'test_dataloader'):
        pipeline = cfg[split].dataset.pipeline
        policy = [p for p in pipeline if p['type'] == 'SampleClip'][0][
            'policy']
        if 'offsets' in policy and getattr(head, 'num_memory_frames', None):
            if len(policy['offsets']):
                assert len(policy['offsets']) + 1 == t, split
        assert DATASETS.get(cfg[split].dataset.type) is not None
    with torch.no_grad():
        out = model._forward(torch.randn(1, t, 3, 64, 64))
    assert out.shape[:2] == (1, head.num_classes)


def _check_label_propagation(cfg):
    from mmvidseg.registry import METRICS
    model = MODELS.build(cfg.model).eval()
    assert METRICS.get(cfg.test_evaluator.type) is not None
    assert DATASETS.get(cfg.test_dataloader.dataset.type) is not None
    with torch.no_grad():
        feat = model(torch.randn(1, 1, 3, 64, 96), mode='tensor')
    # stride 8 (ResNet, ViT-S/8) or 16 (ViT-S/16) features, L2-normalised
    assert feat.shape[-2:] in ((8, 12), (4, 6))
    assert torch.allclose(feat.norm(dim=1), torch.ones(1))


# ------------------------------------------------------------ consistency
def _transforms(pipeline):
    """Every transform of a pipeline, broadcaster contents included."""
    for step in pipeline:
        yield step
        yield from _transforms(step.get('transforms', []))


def _clip_lens(pipeline):
    """Frames of each clip of a sample (several: e.g. shifted clips)."""
    from mmvidseg.registry import TASK_UTILS
    for step in pipeline:
        if step['type'] == 'SampleClip':
            policy = TASK_UTILS.build(step['policy'])
            bounds = getattr(policy, 'clip_bounds', [(0, policy.clip_len)])
            return {stop - start for start, stop in bounds}
    return set()


def _problems(cfg):
    """Values of a config that must agree but do not (empty: consistent)."""
    model, out = cfg.model, []
    head = model.get('decode_head') or {}
    aux = model.get('auxiliary_head') or []
    aux = aux if isinstance(aux, list) else [aux]
    memory = head.get('num_memory_frames')
    streams = bool(model.get('stream_cfg'))
    cached = model.stream_cfg.get('num_ref_frames') if streams else None
    if memory is None:
        memory = cached
    elif cached is not None and cached != memory:
        out.append(f'stream_cfg.num_ref_frames {cached} != head '
                   f'num_memory_frames {memory}')
    preprocessor_size = (model.get('data_preprocessor') or {}).get('size')
    splits = [s for s in ('train_dataloader', 'val_dataloader',
                          'test_dataloader') if cfg.get(s)]
    for split in splits:
        dataset = cfg[split].dataset
        subsets = dataset.get('datasets') or [dataset]  # ConcatDataset
        pipeline = [step for d in subsets for step in d.pipeline]
        # training clips feed the head; test clips too unless streaming
        ok = set()
        if memory is not None:
            ok = {memory + 1}
            if streams and split != 'train_dataloader':
                ok.add(1)
        for clip in sorted(_clip_lens(pipeline)):
            if ok and clip not in ok:
                out.append(f'{split}: clip of {clip} frames, model reads '
                           f'{memory} memory frames')
        for step in _transforms(pipeline):
            if step['type'] == 'RandomCrop' and tuple(
                    step['crop_size']) != tuple(preprocessor_size or ()):
                out.append(f'{split}: RandomCrop {step["crop_size"]} != data '
                           f'preprocessor size {preprocessor_size}')
        classes = DATASETS.build(dict(subsets[0], lazy_init=True)).metainfo[
            'classes']
        heads = [('decode_head', head)] + [('auxiliary_head', a) for a in aux]
        # CPS: the decode head of each branch (inside a SlicePositionHead)
        heads += [(f'{b}.decode_head', model[b]['decode_head'].get(
            'head', model[b]['decode_head']))
            for b in ('segmentor1', 'segmentor2') if b in model]
        for name, h in heads:
            if 'num_classes' in h and h['num_classes'] != len(classes):
                out.append(f'{split}: {name}.num_classes {h["num_classes"]} '
                           f'!= {len(classes)} dataset classes')
    test_cfg = model.get('test_cfg') or {}
    if test_cfg.get('mode') == 'slide' and tuple(
            test_cfg['crop_size']) != tuple(preprocessor_size or ()):
        out.append(f'test_cfg.crop_size {test_cfg["crop_size"]} != data '
                   f'preprocessor size {preprocessor_size}')
    return out


def _check_sali(cfg):
    """SALI: triplets for training, [current, neighbour] pairs at test with
    the model's neighbour; one test frame runs at 256x256 (the smallest
    size whose 1/32 map survives the non-local pooling of 8)."""
    model_cfg = cfg.model.to_dict()
    model_cfg['backbone'].pop('init_cfg', None)
    model = MODELS.build(model_cfg).eval()
    for split, mode in (('train_dataloader', 'train'),
                        ('val_dataloader', 'test'),
                        ('test_dataloader', 'test')):
        pipeline = cfg[split].dataset.pipeline
        policy = [p for p in pipeline if p['type'] == 'SampleClip'][0][
            'policy']
        assert policy['type'] == 'SALIClipPolicy'
        assert policy.get('mode', 'train') == mode, split
        assert policy.get('neighbour', 'next') == model.neighbour, split
    with torch.no_grad():
        out = model._forward(torch.randn(1, 2, 3, 256, 256))
    assert out.shape == (1, 1, 256, 256)


def _check_mstfal(cfg):
    """MS-TFAL: clip + shifted clip for training, single frames at test,
    classes of the dataset, OHEM n_min = H W / 16 of the training size, and
    the reliability pass reads the training labels."""
    model_cfg = cfg.model.to_dict()
    model_cfg['backbone'].pop('init_cfg', None)
    model = MODELS.build(model_cfg).eval()
    train = cfg.train_dataloader.dataset
    policy = [p for p in train.pipeline if p['type'] == 'SampleClip'][0]
    assert policy['policy']['type'] == 'ShiftedClipPolicy'
    classes = DATASETS.get(train.type).METAINFO['classes']
    assert model.num_classes == len(classes)
    w, h = [t for t in train.pipeline if t['type'] ==
            'ClipTransformBroadcaster'][0]['transforms'][0]['scale']
    assert model.loss_module.n_min == h * w // 16
    for hook in cfg.get('custom_hooks', []):
        if hook['type'] == 'MSTFALHook':
            rel = hook['reliability_dataloader']['dataset']
            assert rel['label_dir'] == train.label_dir
            assert rel['split'] == train.split
    with torch.no_grad():
        out = model._forward(torch.randn(1, 1, 3, 64, 80))
    assert out.shape == (1, model.num_classes, 64, 80)


def _train_datasets(cfg):
    dataset = cfg.train_dataloader.dataset
    return dataset.get('datasets') or [dataset]


def _packs_slice_position(cfg):
    """A 2D slice config (FLARE22 CPS branch pre-training)."""
    return cfg.model.type == 'EncoderDecoder' and any(
        'slice_position' in step.get('meta_keys', ())
        for ds in _train_datasets(cfg) for step in ds.pipeline)


def _check_cps(cfg):
    """FLARE22 slice models (CPS and its branches): 14 classes, /255
    only, slice position and labelled flag packed, CPS batches of 2 + 2
    with both optimisers; a prediction per slice with its position."""
    from mmseg.structures import SegDataSample

    from mmvidseg.datasets.flare22_meta import FLARE22_CLASSES
    model_cfg = cfg.model  # a ConfigDict: test_cfg.mode for EncoderDecoder
    _cpu_norm(model_cfg)
    model = MODELS.build(model_cfg).eval()
    assert model.num_classes == len(FLARE22_CLASSES)
    pre = cfg.model.data_preprocessor
    assert list(pre.mean) == [0, 0, 0] and list(pre.std) == [255] * 3
    for ds in _train_datasets(cfg):
        pack = [t for t in ds.pipeline if t['type'] == 'PackSegInputs'][0]
        assert {'slice_position', 'labelled'} <= set(pack['meta_keys'])
    if cfg.model.type == 'CPSSegmentor':
        sampler = cfg.train_dataloader.sampler
        assert sampler.type == 'mmdet.MultiSourceSampler'
        assert sampler.source_ratio == [2, 2] and sampler.batch_size == 4
        assert {'segmentor1', 'segmentor2'} <= set(cfg.optim_wrapper)
        assert any(h['type'] == 'CPSEpochLengthHook'
                   for h in cfg.custom_hooks)
    samples = [SegDataSample(metainfo=dict(
        slice_position=p, img_shape=(64, 64), ori_shape=(64, 64)))
        for p in (0.2, 0.7)]
    with torch.no_grad():
        out = model.predict(torch.rand(2, 3, 64, 64), samples)
    assert out[0].pred_sem_seg.data.shape == (1, 64, 64)


def _check_stcn(cfg):
    """STCN: triplets with the max_jump curriculum (training configs),
    streamed test videos, 64-d keys at 1/16."""
    model_cfg = cfg.model.to_dict()
    for enc in ('key_encoder', 'value_encoder'):
        model_cfg[enc].pop('init_cfg', None)
    model = MODELS.build(model_cfg).eval()
    assert cfg.test_cfg.type == 'VideoTestLoop'
    assert cfg.test_dataloader.sampler.type == 'VideoSequentialSampler'
    if cfg.get('train_dataloader'):
        pipeline = cfg.train_dataloader.dataset.pipeline
        policy = [p for p in pipeline if p['type'] == 'SampleClip'][0][
            'policy']
        assert policy['type'] == 'STCNTripletClipPolicy'
        hook = [h for h in cfg.custom_hooks
                if h['type'] == 'StageScheduleHook'][0]
        assert [(s['begin'], s['clip_policy']['max_jump'])
                for s in hook['schedule']] == [
                    (0, 25), (6000, 3), (12000, 4), (18000, 5), (24000, 7),
                    (54000, 3)]
    with torch.no_grad():
        keys = model(torch.randn(1, 1, 3, 64, 64), mode='tensor')
    assert keys.shape == (1, 64, 4, 4)


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_config_values_agree(path):
    assert _problems(Config.fromfile(path)) == []


def _set_offsets(pipeline, offsets):
    [s for s in pipeline if s['type'] == 'SampleClip'][0]['policy'] = dict(
        type='FixedOffsetClipPolicy', offsets=offsets)


def _set_random_crop(pipeline, size):
    [s for s in _transforms(pipeline)
     if s['type'] == 'RandomCrop'][0]['crop_size'] = size


@pytest.mark.parametrize('mutate, expected', [
    (lambda c: c.model.decode_head.update(num_memory_frames=3),
     'model reads 3 memory frames'),
    (lambda c: _set_offsets(c.test_dataloader.dataset.pipeline, (-1, )),
     'test_dataloader: clip of 2 frames'),
    (lambda c: _set_offsets(c.train_dataloader.dataset.pipeline, ()),
     'train_dataloader: clip of 1 frames'),
    (lambda c: _set_random_crop(c.train_dataloader.dataset.pipeline,
                                (512, 512)), 'RandomCrop (512, 512)'),
    (lambda c: c.model.data_preprocessor.update(size=(512, 512)),
     'preprocessor size (512, 512)'),
    (lambda c: c.model.test_cfg.update(crop_size=(512, 512)),
     'test_cfg.crop_size (512, 512)'),
    (lambda c: c.model.decode_head.update(num_classes=18),
     'decode_head.num_classes 18 != 19'),
    (lambda c: c.model.auxiliary_head.update(num_classes=18),
     'auxiliary_head.num_classes 18 != 19'),
    (lambda c: c.train_dataloader.dataset.update(
        type='CamVidVideoDataset', layout='segnet'),
     'decode_head.num_classes 19 != 11'),
    (lambda c: c.model.update(stream_cfg=dict(num_ref_frames=1)),
     'stream_cfg.num_ref_frames 1 != head num_memory_frames 2'),
])
def test_config_disagreement_detected(repo_root, mutate, expected):
    cfg = Config.fromfile(
        osp.join(repo_root, 'configs', 'tmanet',
                 'tmanet_r18-d8_4xb2-clip3-80k_cityscapes-seq-769x769.py'))
    assert _problems(cfg) == []
    mutate(cfg)
    problems = _problems(cfg)
    assert len(problems) >= 1 and any(expected in p for p in problems), (
        problems)


def test_streaming_config_disagreement_detected(repo_root):
    cfg = Config.fromfile(
        osp.join(repo_root, 'configs', 'demo',
                 'tempattn_r18-tiny_1xb8-clip3-600it_procedural-96x96.py'))
    # the streaming test clip (1 frame) is fine, the cache size must match
    assert _problems(cfg) == []
    cfg.model.stream_cfg.num_ref_frames = 1
    assert _problems(cfg) == [
        'train_dataloader: clip of 3 frames, model reads 1 memory frames']
    # without streaming, a one-frame test clip cannot feed the head
    cfg.model.stream_cfg = None
    cfg.model.decode_head.num_memory_frames = 2
    assert _problems(cfg) == [
        'val_dataloader: clip of 1 frames, model reads 2 memory frames',
        'test_dataloader: clip of 1 frames, model reads 2 memory frames']


@pytest.mark.parametrize(
    'path', [p for p in CONFIGS if 'camvid' in osp.basename(p)],
    ids=osp.basename)
def test_camvid_validates_on_val_and_tests_on_test(path):
    """TMANet validates (keeps its best checkpoint) on CamVid val and
    tests on test; selecting checkpoints on the test split is wrong."""
    cfg = Config.fromfile(path)
    assert cfg.val_dataloader.dataset.split == 'val'
    assert cfg.test_dataloader.dataset.split == 'test'
