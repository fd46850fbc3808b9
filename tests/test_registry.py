"""Registration contract: distinctive names, __all__ everywhere."""
import importlib
import os
import os.path as osp

import mmdet.registry
import mmengine.registry
import mmseg.registry
import pytest

import mmvidseg

OURS = {
    'MODELS': ['VideoEncoderDecoder', 'VideoSegDataPreProcessor',
               'TemporalAttentionHead', 'TMAHead', 'LabelPropagator',
               'SALISegmentor', 'SALIHead', 'RFBNeck', 'StructureLoss',
               'OhemCrossEntropyLoss', 'ReferencePVTv2', 'MSTFALSegmentor',
               'ResNet18OS8', 'DeepLabV3PlusLiteHead', 'CPSSegmentor',
               'SlicePositionHead', 'ResNetViTHybrid', 'STCN'],
    'DATASETS': ['ProceduralVideoDataset', 'VideoFolderDataset',
                 'CityscapesSeqDataset', 'CamVidVideoDataset', 'DAVISDataset',
                 'NiftiVolumeDataset', 'SUNSEGDataset', 'EndoVis18Dataset',
                 'CTVolumeDataset'],
    'TRANSFORMS': ['SampleClip', 'LoadVideoFrames', 'ClipTransformBroadcaster',
                   'PackVideoSegInputs', 'LoadVideoAnnotations',
                   'LoadVolumeSlices', 'RandomRotateBicubic', 'ColorEnhance',
                   'PepperNoise', 'SoftMaskResize', 'CTMultiWindow',
                   'RandomGaussianBlur', 'ClipToImage', 'LoadVolumeLabels'],
    'TASK_UTILS': ['FixedOffsetClipPolicy', 'RandomSkipClipPolicy',
                   'ShiftedClipPolicy', 'FirstFrameQueueClipPolicy',
                   'SALIClipPolicy', 'STCNTripletClipPolicy'],
    'DATA_SAMPLERS': ['VideoSequentialSampler'],
    'LOOPS': ['VideoValLoop', 'VideoTestLoop'],
    'HOOKS': ['VideoPredictionWriterHook', 'StageScheduleHook',
              'MSTFALHook', 'CPSEpochLengthHook'],
    'RUNNERS': ['AtomicCheckpointRunner'],
    'METRICS': ['DAVISMetric', 'VPSMetric', 'EndoVisMetric',
                'VolumeDSCNSDMetric'],
    'OPTIM_WRAPPER_CONSTRUCTORS': ['MultiOptimWrapperConstructor'],
}


def _registered_by_us(registry):
    return {name for name, cls in registry.module_dict.items()
            if cls.__module__.startswith('mmvidseg.')}


@pytest.mark.parametrize('node', sorted(OURS))
def test_registered_into_mmseg_scope(node):
    registry = getattr(mmseg.registry, node)
    assert set(OURS[node]) == _registered_by_us(registry)


@pytest.mark.parametrize('node', sorted(OURS))
def test_no_name_shadows_openmmlab(node):
    for other in (mmdet.registry, mmengine.registry):
        registry = getattr(other, node, None)
        if registry is None:
            continue
        clash = set(OURS[node]) & set(registry.module_dict)
        assert not clash, f'{clash} shadow {other.__name__}.{node}'


def test_every_package_has_all():
    root = osp.dirname(mmvidseg.__file__)
    for dirpath, _, files in os.walk(root):
        if '__init__.py' not in files or '__pycache__' in dirpath:
            continue
        rel = osp.relpath(dirpath, osp.dirname(root)).replace(os.sep, '.')
        module = importlib.import_module(rel)
        assert hasattr(module, '__all__'), rel
        for name in module.__all__:
            assert hasattr(module, name), f'{rel}.__all__ lists {name}'


def test_one_registered_class_per_file():
    seen = {}
    for node in OURS:
        registry = getattr(mmseg.registry, node)
        for name in _registered_by_us(registry):
            mod = registry.module_dict[name].__module__
            assert mod not in seen, f'{name} and {seen.get(mod)} share {mod}'
            seen[mod] = name
            # file named after the class (snake case)
            assert mod.split('.')[-1].replace('_', '') == name.lower(), (
                name, mod)
