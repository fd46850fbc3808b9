import pytest
import torch
from mmengine.evaluator import Evaluator
from mmengine.runner import Runner

from mmvidseg.engine.runner import evaluate_all_ranks

from ...conftest import make_procedural_run_cfg


def test_streaming_loop_resets_state_per_video(tmp_path):
    cfg = make_procedural_run_cfg(tmp_path / 'work', str(tmp_path / 'cache'),
                                  val_videos=3, num_frames=4)
    runner = Runner.from_cfg(cfg)
    model = runner.model
    events = []
    orig_reset, orig_predict = model.reset_state, model.predict

    def reset():
        events.append(('reset', None))
        orig_reset()

    def predict(inputs, data_samples=None):
        s = data_samples[0]
        # state carried over from the previous frame of the same video only
        events.append(('frame', (s.video_id, s.frame_id,
                                 model._stream_video)))
        return orig_predict(inputs, data_samples)

    model.reset_state, model.predict = reset, predict
    metrics = runner.test()
    assert 'mIoU' in metrics
    frames = [e[1] for e in events if e[0] == 'frame']
    assert len(frames) == 12
    # frames in order within each video
    for vid in {f[0] for f in frames}:
        ids = [f[1] for f in frames if f[0] == vid]
        assert ids == sorted(ids) == list(range(4))
    # a reset precedes the first frame of each video, and the model state
    # never holds another video's id when a new video starts
    for i, e in enumerate(events):
        if e[0] == 'frame' and e[1][1] == 0:
            assert events[i - 1] == ('reset', None)
            assert e[1][2] is None
        elif e[0] == 'frame':
            assert e[1][2] == e[1][0]
    assert events[-1] == ('reset', None)


def test_evaluate_all_ranks_matches_mmengine(tmp_path):
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    torch.manual_seed(0)
    samples = []
    for _ in range(5):
        s = SegDataSample()
        s.gt_sem_seg = PixelData(data=torch.randint(0, 3, (1, 8, 8)))
        s.pred_sem_seg = PixelData(data=torch.randint(0, 3, (1, 8, 8)))
        s.set_metainfo(dict(img_path='x.png'))
        samples.append(s.to_dict())
    meta = dict(classes=('a', 'b', 'c'))
    ours, ref = (Evaluator(dict(type='IoUMetric', prefix='p')) for _ in '12')
    for ev in (ours, ref):
        ev.dataset_meta = meta
        ev.process(samples)
    assert evaluate_all_ranks(ours) == pytest.approx(ref.evaluate(5))
