"""Memory-read and propagation benchmarks take their sizes from models."""
import pytest

from mmvidseg.registry import MODELS
from mmvidseg.utils.read_benchmark import (benchmark_memory_read,
                                           head_read_settings,
                                           propagation_settings,
                                           run_memory_read_benchmark,
                                           run_propagation_benchmark)

from ..conftest import make_tiny_model_cfg
from .test_benchmark import _cfg, _labelprop_cfg


def _tma_cfg(matmul_norm=False):
    cfg = _cfg(offsets=(-3, -2, -1), size=(40, 56))
    cfg.model.decode_head = dict(
        type='TMAHead', in_channels=32, in_index=1, channels=16,
        num_memory_frames=3, key_channels=8, value_channels=12,
        matmul_norm=matmul_norm, num_classes=3, norm_cfg=dict(type='BN'))
    return cfg


def test_head_read_settings_from_the_built_head():
    head = MODELS.build(_tma_cfg().model.decode_head)
    assert head_read_settings(head) == dict(
        num_memory=3, key_channels=8, value_channels=12, scale=1.0)
    head = MODELS.build(_tma_cfg(matmul_norm=True).model.decode_head)
    assert head_read_settings(head)['scale'] == pytest.approx(8**-0.5)
    # the memory frames come from the head, not from the fallback
    assert head_read_settings(head, 7)['num_memory'] == 3
    plain = MODELS.build(make_tiny_model_cfg()['decode_head'])
    with pytest.raises(ValueError, match='TemporalAttentionHead has no '
                       'key_channels, value_channels'):
        head_read_settings(plain, 2)


def test_run_memory_read_benchmark():
    report = run_memory_read_benchmark(_tma_cfg(), iters=1, warmup=0)
    s = report['settings']
    assert s['benchmark'] == 'memory_read'
    assert s['feature_hw'] == [5, 7]  # preprocessor size 40x56 at stride 8
    assert (s['memory_frames'], s['key_channels'],
            s['value_channels']) == (3, 8, 12)
    assert report['sdpa']['sec_per_iter'] > 0
    assert report['plain']['sec_per_iter'] > 0
    report = run_memory_read_benchmark(_tma_cfg(), shape=(16, 17), iters=1,
                                       warmup=0)
    assert report['settings']['feature_hw'] == [2, 3]
    with pytest.raises(ValueError, match='no memory read'):
        run_memory_read_benchmark(_cfg(), iters=1, warmup=0)


def test_benchmark_memory_read_settings():
    report = benchmark_memory_read((3, 4), 2, 8, 6, iters=1, warmup=0,
                                   scale=0.5)
    assert report['settings']['scale'] == 0.5
    assert set(report) == {'settings', 'sdpa', 'plain'}


def test_propagation_settings_from_the_built_model():
    model = MODELS.build(_labelprop_cfg().model)
    assert propagation_settings(model) == dict(
        queue_len=2, temperature=0.05, topk=3, radius=2, chunk_size=256)
    with pytest.raises(ValueError, match='not a label-propagation model'):
        propagation_settings(MODELS.build(make_tiny_model_cfg()))


def test_run_propagation_benchmark():
    report = run_propagation_benchmark(_labelprop_cfg(), num_frames=3,
                                       shape=(40, 48))
    s = report['settings']
    # stride and channels read from the model (tiny ResNet: 8, 32)
    assert s['feature_stride'] == 8 and s['feat_hw'] == [5, 6]
    assert s['channels'] == 32 and s['queue_len'] == 2 and s['topk'] == 3
    for impl in ('streaming', 'all_frames'):
        assert report[impl]['frames_per_sec'] > 0
    report = run_propagation_benchmark(_labelprop_cfg(), num_frames=3,
                                       shape=(16, 16), channels=4)
    assert report['settings']['channels'] == 4
    with pytest.raises(ValueError, match='not a label-propagation model'):
        run_propagation_benchmark(_cfg(), num_frames=3)
