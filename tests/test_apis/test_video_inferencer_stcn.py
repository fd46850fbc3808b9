"""STCN as a VOS model in VideoInferencer: first-frame mask, ordinary video
(a procedural one), bounded memory; the DAVIS config's pipeline with a tiny
random model."""
import os.path as osp

import numpy as np
import torch
from mmengine.config import Config

from mmvidseg.apis import VideoInferencer
from mmvidseg.apis.overlay_writer import OverlayWriter
from mmvidseg.datasets.procedural_video import render_video
from mmvidseg.utils.io import read_mask

from ..test_models._stcn_fill import TINY_STCN

DAVIS_CFG = osp.join(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'configs',
    'flare22', 'stcn_r50_1xb2-clip3-amp-60k_davis2017-480x854.py')


def _config():
    cfg = Config.fromfile(DAVIS_CFG)
    for key in ('key_encoder', 'value_encoder', 'key_dim', 'value_dim',
                'decoder_channels'):
        cfg.model[key] = TINY_STCN[key]
    cfg.model.fuser_attention = True
    cfg.model.test_cfg.update(mem_every=2, include_last=True, max_frames=2)
    return cfg


def test_stcn_streams_a_video_from_its_first_mask(tmp_path):
    frames, masks = render_video(seed=3, num_frames=10, size=(72, 88),
                                 num_classes=4)
    first = masks[0].astype(np.int64)
    ids = set(np.unique(first).tolist())
    assert len(ids) >= 2
    torch.manual_seed(0)
    inf = VideoInferencer(_config())
    model = inf.model
    held = []
    orig = model.predict

    def predict(inputs, data_samples):
        out = orig(inputs, data_samples)
        held.append([e.kind for e in model._bank.entries])
        return out

    model.predict = predict
    res = inf(frames, out_dir=str(tmp_path / 'out'), overlay='gif',
              first_mask=first, progress=False)
    assert res['num_frames'] == 10 and osp.isfile(res['overlay'])
    out = [read_mask(osp.join(res['masks_dir'], f'{i:06d}.png'))
           for i in range(10)]
    kept = inf(frames, first_mask=first, progress=False)['masks']
    assert len(kept) == 10
    assert np.array_equal(kept[0], first)  # frame 0 is the given mask
    for m in kept:
        assert m.shape == (72, 88) and set(np.unique(m)) <= ids
    # written masks = returned masks (a second run: same weights, state
    # reset between runs, so the same result)
    assert all(np.array_equal(a, b) for a, b in zip(out, kept))
    # the first frame stays, at most 2 working entries + 1 temporary
    assert held[0] == ['permanent']
    assert all(k[0] == 'permanent' and k.count('working') <= 2
               and k.count('temporary') <= 1 for k in held)
    assert max(len(k) for k in held) == 4
    assert model._bank is None or not model._bank.entries  # reset after


def test_stcn_on_a_video_file(tmp_path):
    """An mp4 in (frames decoded lazily), the first frame's mask given,
    masks and an mp4 overlay out."""
    frames, masks = render_video(seed=5, num_frames=8, size=(64, 80),
                                 num_classes=3)
    video = str(tmp_path / 'in.mp4')
    writer = OverlayWriter(video, fps=5)
    for f in frames:
        writer.write(f)
    writer.close()
    first = masks[0].astype(np.int64)
    torch.manual_seed(0)
    res = VideoInferencer(_config())(video, out_dir=str(tmp_path / 'out'),
                                     overlay='mp4', first_mask=first,
                                     progress=False)
    assert res['num_frames'] == 8 and osp.isfile(res['overlay'])
    out = [read_mask(osp.join(res['masks_dir'], f'{i:06d}.png'))
           for i in range(8)]
    assert np.array_equal(out[0], first)
    assert all(m.shape == (64, 80) for m in out)
    assert set(np.unique(np.stack(out))) <= set(np.unique(first).tolist())
