"""BaseVideoMetric: grouping, order, duplicates; 2 ranks of unequal sizes."""
import datetime
import pickle
import random
import socket
from unittest import mock

import numpy as np
import pytest
import torch

from mmvidseg.evaluation.metrics import (BaseVideoMetric, DAVISMetric,
                                         gather_and_evaluate)


class FrameListMetric(BaseVideoMetric):
    """Keeps what it was given: video -> [(frame_id, value), ...]."""

    def process(self, data_batch, data_samples):
        for s in data_samples:
            self.results.append(dict(video_id=s['video_id'],
                                     frame_id=s['frame_id'], value=s['v']))

    def compute_video_metrics(self, videos):
        self.videos = {v: [(r['frame_id'], r['value']) for r in frames]
                       for v, frames in videos.items()}
        return dict(frames=sum(len(f) for f in videos.values()))


class StrictFrameListMetric(FrameListMetric):
    drop_duplicate_frames = False


def shuffled_frames():
    frames = [dict(video_id=v, frame_id=t, v=f'{v}{t}')
              for v, n in (('b', 3), ('a', 5), ('c', 1)) for t in range(n)]
    # padding as mmengine's DefaultSampler does: samples repeated
    frames += [dict(frames[3], v='pad'), dict(frames[0], v='pad')]
    random.Random(0).shuffle(frames)
    return frames


def test_groups_orders_and_drops_duplicates():
    metric = FrameListMetric(prefix='p')
    frames = shuffled_frames()
    metric.process({}, frames)
    assert metric.compute_metrics(metric.results) == dict(frames=9)
    assert list(metric.videos) == ['a', 'b', 'c']
    for video, rows in metric.videos.items():
        ids = [t for t, _ in rows]
        assert ids == list(range(len(ids))), video
    # one of the two copies of a duplicated frame is kept
    assert [v for _, v in metric.videos['b']][1:] == ['b1', 'b2']
    assert metric.videos['b'][0][1] in ('b0', 'pad')

    strict = StrictFrameListMetric()
    strict.process({}, frames)
    with pytest.raises(ValueError,
                       match=r"video 'a': frames \[0\] were evaluated more "
                       'than once'):
        strict.compute_metrics(strict.results)
    with pytest.raises(KeyError, match='frame_id'):
        metric.compute_metrics([dict(video_id='a', value=1)])


def test_evaluate_single_process_contract():
    metric = FrameListMetric(prefix='p')
    metric.process({}, shuffled_frames())
    # size is not used for truncation (mmengine would cut at `size`)
    assert metric.evaluate(3) == {'p/frames': 9}
    assert metric.results == []
    with mock.patch('mmvidseg.evaluation.metrics.base_video_metric.'
                    'print_log') as log:
        assert metric.evaluate(0) == {'p/frames': 0}
    assert 'no results' in log.call_args[0][0]

    class Failing(FrameListMetric):

        def compute_video_metrics(self, videos):
            raise ValueError('broken video x')

    failing = Failing()
    failing.process({}, shuffled_frames())
    with pytest.raises(ValueError, match='broken video x'):
        gather_and_evaluate(failing)
    assert failing.results == []


# --- two processes (gloo on CPU), ranks with different numbers of frames ---

RANK_VIDEOS = ([('a', 7), ('b', 4)], [('c', 9)])  # 11 frames vs 9
CLASSES = ('background', 'object 1', 'object 2')


def _video_samples(video, length, seed):
    """Frames of a video: objects 1 and 2, void rows, noisy predictions."""
    rng = np.random.default_rng(seed)
    samples = []
    for t in range(length):
        gt = np.zeros((12, 16), np.int64)
        y, x = rng.integers(0, 5, size=2)
        gt[y:y + 5, x:x + 6] = 1
        gt[6:11, 9 + t % 5:14 + t % 5] = 2
        gt[11, :] = 255
        pred = np.where(gt == 255, 0, gt)
        pred[rng.random(gt.shape) < 0.15] = rng.integers(0, 3)
        samples.append(dict(
            video_id=video, frame_id=t, img_path=f'{video}/{t}.png',
            gt_sem_seg=dict(data=torch.from_numpy(gt[None])),
            pred_sem_seg=dict(data=torch.from_numpy(pred[None]))))
    return samples


def _rank_samples(rank):
    return [s for i, (v, n) in enumerate(RANK_VIDEOS[rank])
            for s in _video_samples(v, n, seed=10 * rank + i)]


def _build_metrics():
    from mmengine.evaluator import Evaluator
    from mmseg.evaluation import IoUMetric
    evaluator = Evaluator([DAVISMetric(prefix='davis'),
                           IoUMetric(iou_metrics=['mIoU', 'mDice'])])
    evaluator.dataset_meta = dict(classes=CLASSES)
    return evaluator


def _ddp_worker(rank, port, out_dir):
    import torch.distributed as dist

    from mmvidseg.engine.runner import evaluate_all_ranks
    torch.set_num_threads(1)
    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}',
                            rank=rank, world_size=2,
                            timeout=datetime.timedelta(seconds=60))
    try:
        samples = _rank_samples(rank)
        out = {}
        davis = DAVISMetric()
        davis.process({}, samples)
        out['davis'] = davis.evaluate(len(samples))
        evaluator = _build_metrics()
        for i in range(0, len(samples), 3):  # batches of 3 frames
            evaluator.process(samples[i:i + 3])
        out['loop'] = evaluate_all_ranks(evaluator)
        strict = DAVISMetric()  # frame 1 of video 'a' also on rank 1
        strict.process({}, samples + _rank_samples(0)[1:2] * rank)
        try:
            strict.evaluate(0)
        except Exception as exc:
            out['error'] = f'{type(exc).__name__}: {exc}'
        with open(f'{out_dir}/rank{rank}.pkl', 'wb') as f:
            pickle.dump(out, f)
    finally:
        dist.destroy_process_group()


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_two_ranks_with_unequal_videos_equal_one_process(tmp_path):
    # fork: the workers inherit the imported modules (no re-import)
    torch.multiprocessing.start_processes(
        _ddp_worker, args=(_free_port(), str(tmp_path)), nprocs=2,
        start_method='fork')
    outs = [pickle.loads((tmp_path / f'rank{r}.pkl').read_bytes())
            for r in range(2)]
    for key in ('davis', 'loop'):  # every rank gets the values
        assert outs[0][key] == outs[1][key], key

    samples = _rank_samples(0) + _rank_samples(1)
    davis = DAVISMetric()
    davis.process({}, samples)
    expected = davis.compute_metrics(davis.results)
    assert outs[0]['davis'] == expected
    assert len(davis.video_scores(davis.results)) == 6  # 3 videos x 2

    evaluator = _build_metrics()
    evaluator.process(samples)
    reference = evaluator.evaluate(len(samples))  # one process
    assert outs[0]['loop'] == reference
    assert {k: v for k, v in reference.items() if k.startswith('davis/')} \
        == {f'davis/{k}': v for k, v in expected.items()}
    assert reference['mIoU'] > 0
    # a frame evaluated on both ranks: the same error on both
    assert outs[0]['error'] == ("ValueError: video 'a': frames [1] were "
                                'evaluated more than once')
    assert outs[1]['error'].startswith('RuntimeError: DAVISMetric failed')
