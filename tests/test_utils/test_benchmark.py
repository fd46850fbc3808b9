"""The model benchmark: shape handling, clip length, streaming contract."""
import mmap
import time

import pytest
import torch
from mmengine.config import Config

from mmvidseg.models.segmentors import GIVEN_MASK_FIELD, LabelPropagator
from mmvidseg.utils.benchmark import (PeakRSS, fake_batch, format_report,
                                      run_benchmark, timed_peak,
                                      train_clip_len)

from ..conftest import make_tiny_model_cfg

FAST = dict(iters=1, warmup=1)


def _cfg(offsets=(-2, -1), size=(48, 48), stream_refs=2, **model_kw):
    model = make_tiny_model_cfg(stream_refs=stream_refs, **model_kw)
    model['data_preprocessor']['size'] = size
    pipeline = [
        dict(type='SampleClip',
             policy=dict(type='FixedOffsetClipPolicy', offsets=offsets)),
        dict(type='PackVideoSegInputs')
    ]
    return Config(dict(
        default_scope='mmseg', model=model,
        train_dataloader=dict(dataset=dict(pipeline=pipeline)),
        optim_wrapper=dict(type='OptimWrapper',
                           optimizer=dict(type='SGD', lr=0.01))))


def _labelprop_cfg():
    return Config(dict(
        default_scope='mmseg',
        model=dict(
            type='LabelPropagator',
            data_preprocessor=dict(
                type='VideoSegDataPreProcessor', mean=[120., 110., 100.],
                std=[50., 50., 50.]),
            backbone=dict(type='ResNetV1c', depth=18, stem_channels=8,
                          base_channels=8, num_stages=3, strides=(1, 2, 1),
                          dilations=(1, 1, 1), out_indices=(2, )),
            queue_len=2, topk=3, radius=2)))


def test_train_clip_len_from_the_training_policy():
    assert train_clip_len(_cfg()) == 3
    assert train_clip_len(_cfg(offsets=(-4, -3, -2, -1))) == 5
    assert train_clip_len(_labelprop_cfg()) == 1  # no training pipeline


def test_train_honours_shape_and_reports_the_size_run():
    # the preprocessor would pad to its 48x48 crop size: --shape wins
    report = run_benchmark(_cfg(), 'train', shape=(32, 40), **FAST)
    assert report['settings']['shape'] == [32, 40]
    assert report['settings']['clip_len'] == 3
    assert report['train']['input_hw'] == [32, 40]
    assert report['train']['frames_per_sec'] > 0
    # default: the preprocessor's size
    report = run_benchmark(_cfg(), 'train', **FAST)
    assert report['train']['input_hw'] == [48, 48]


def test_stream_and_clip_inference():
    # built in clip mode: streamed through enable_streaming() first
    report = run_benchmark(_cfg(stream_refs=None, temporal=False), 'stream',
                           shape=(32, 32), **FAST)
    assert report['settings']['streaming_model'] is True
    assert report['stream']['frames_per_sec'] > 0
    assert report['stream']['input_hw'] == [32, 32]
    assert 'clip_infer' in report and 'train' not in report
    # no memory frames: nothing to compare with clip mode
    report = run_benchmark(_cfg(offsets=()), 'stream', shape=(32, 32),
                           **FAST)
    assert 'clip_infer' not in report


def test_given_mask_at_the_first_frame(monkeypatch):
    seen = []
    original = LabelPropagator.given_mask

    def spy(sample):
        mask = original(sample)
        seen.append((sample.metainfo['frame_id'], mask is not None))
        return mask

    monkeypatch.setattr(LabelPropagator, 'given_mask', staticmethod(spy))
    report = run_benchmark(_labelprop_cfg(), 'stream', shape=(32, 32),
                           iters=2, warmup=1)
    assert report['settings']['clip_len'] == 1
    assert seen == [(0, True), (1, False), (2, False)]


def test_errors():
    cfg = _labelprop_cfg()
    with pytest.raises(KeyError, match='optim_wrapper'):
        run_benchmark(cfg, 'both', shape=(32, 32), **FAST)
    with pytest.raises(ValueError, match='mode'):
        run_benchmark(cfg, 'infer')
    plain = _cfg(stream_refs=None, temporal=False)
    plain.model.type = 'EncoderDecoder'  # mmseg's: no streaming contract
    plain.model.data_preprocessor.type = 'SegDataPreProcessor'
    plain.model.pop('stream_cfg')
    with pytest.raises(TypeError, match='streaming contract'):
        run_benchmark(plain, 'stream', shape=(32, 32), **FAST)


def test_fake_batch_and_report_lines():
    batch = fake_batch(2, 3, (8, 10), 4, given_mask=True)
    assert batch['inputs'][0].shape == (3, 3, 8, 10)
    sample = batch['data_samples'][1]
    assert sample.metainfo['key_index'] == 2
    assert torch.equal(getattr(sample, GIVEN_MASK_FIELD).data,
                       sample.gt_sem_seg.data)
    assert GIVEN_MASK_FIELD not in fake_batch(1, 1, (8, 10), 4)[
        'data_samples'][0]
    lines = format_report(dict(
        settings=dict(device='cpu'),
        train=dict(sec_per_iter=0.5, frames_per_sec=6.0, input_hw=[32, 40],
                   peak_mem_mib=None)))
    assert lines == [
        'settings: device=cpu',
        'train: 500.00 ms/iter, 6.00 frames/s, input 32x40, peak memory n/a'
    ]
    lines = format_report(dict(settings=dict(benchmark='memory_read'),
                               sdpa=dict(sec_per_iter=0.001,
                                         peak_mem_mib=2.0)))
    assert lines[1] == 'sdpa read: 1.00 ms/iter, peak memory 2.0 MiB'


def test_timed_peak_counts_and_measures():
    calls = []
    big = []

    def fn(i):
        calls.append(i)
        if i == 2:
            # 48 MiB of fresh pages, touched (an anonymous mapping: a malloc
            # could reuse heap pages freed by earlier tests, already resident)
            block = mmap.mmap(-1, 48 * 2**20)
            block.write(b'\1' * (48 * 2**20))
            big.append(block)
            time.sleep(0.05)  # let the sampler see it

    sec, peak = timed_peak(fn, 2, 1, torch.device('cpu'), None)
    assert calls == [0, 1, 2] and sec >= 0
    with PeakRSS() as rss:
        pass
    if rss.peak_mib is None:
        pytest.skip('no /proc/self/statm')
    assert peak >= 40
