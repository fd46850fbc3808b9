import pytest
import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmvidseg.models.utils import propagate_video
from mmvidseg.registry import MODELS

CFG = dict(
    type='LabelPropagator',
    backbone=dict(type='ResNet', depth=18, num_stages=3, strides=(1, 2, 1),
                  dilations=(1, 1, 1), out_indices=(2, ), style='pytorch'),
    queue_len=2, temperature=0.05, topk=5, radius=3)


def _sample(video, frame, hw, gt=None):
    s = SegDataSample()
    s.set_metainfo(dict(video_id=video, frame_id=frame, ori_shape=hw))
    if gt is not None:
        s.gt_sem_seg = PixelData(data=gt[None])
    return s


@pytest.fixture
def model():
    torch.manual_seed(0)
    return MODELS.build(CFG).eval()


def test_predictions_follow_the_propagation_core(model):
    torch.manual_seed(1)
    frames = torch.randn(5, 3, 48, 64)
    gt = torch.zeros(48, 64, dtype=torch.long)
    gt[5:20, 10:30] = 2
    gt[30:40, 40:60] = 5  # non-contiguous object ids
    gt[0, 0] = 255  # void
    preds = [model.predict(frames[t][None], [_sample(
        'v', t, (48, 64), gt if t == 0 else None)])[0].pred_sem_seg.data[0]
        for t in range(5)]
    assert torch.equal(preds[0], gt)  # frame 0 = its annotation
    # the same maths through the functional core
    with torch.no_grad():
        feats = model.extract_feat(frames)
    ids = torch.tensor([0, 2, 5])
    onehot = (gt[None] == ids[:, None, None]).float()
    first = F.interpolate(onehot[None], size=feats.shape[-2:],
                          mode='bilinear', align_corners=False)[0]
    soft = list(propagate_video(feats, first, queue_len=2, temperature=0.05,
                                topk=5, radius=3, normalize=False))
    for t in range(1, 5):
        up = F.interpolate(soft[t][None], size=(48, 64), mode='bilinear',
                           align_corners=False)[0]
        assert torch.equal(preds[t], ids[up.argmax(0)]), t
    assert set(torch.unique(preds[4]).tolist()) <= {0, 2, 5}


def test_resets_per_video_and_errors(model):
    gt = torch.zeros(32, 32, dtype=torch.long)
    gt[:10, :10] = 1
    x = torch.randn(1, 3, 32, 32)
    model.predict(x, [_sample('a', 0, (32, 32), gt)])
    model.predict(x, [_sample('a', 1, (32, 32))])
    assert model._state.num_held_frames <= 3
    with pytest.raises(KeyError, match="video 'b' needs its annotation"):
        model.predict(x, [_sample('b', 0, (32, 32))])
    with pytest.raises(RuntimeError, match='inference-only'):
        model(x, [_sample('a', 2, (32, 32))], mode='loss')
    out = model.predict(torch.randn(1, 3, 32, 32),
                        [_sample('c', 0, (64, 64), torch.zeros(
                            64, 64, dtype=torch.long))])
    assert out[0].pred_sem_seg.data.shape == (1, 64, 64)
