import numpy as np
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample
from PIL import Image

from mmvidseg.engine import VideoPredictionWriterHook


def _sample(video, path, pred):
    s = SegDataSample()
    s.pred_sem_seg = PixelData(data=torch.as_tensor(pred)[None])
    s.set_metainfo(dict(video_id=video, img_path=path))
    return s


def test_writes_per_video_and_palette(tmp_path):
    pred = np.zeros((4, 5), np.int64)
    pred[1:3, 1:4] = 2
    grey = VideoPredictionWriterHook(str(tmp_path / 'grey'))
    davis = VideoPredictionWriterHook(str(tmp_path / 'davis'),
                                      palette='davis')
    for hook in (grey, davis):
        hook.after_test_iter(None, 0, outputs=[
            _sample('seq', '/x/JPEGImages/seq/00007.jpg', pred)])
    g = Image.open(tmp_path / 'grey' / 'seq' / '00007.png')
    d = Image.open(tmp_path / 'davis' / 'seq' / '00007.png')
    assert g.mode == 'L' and d.mode == 'P'
    assert np.array_equal(np.array(g), pred) and np.array_equal(
        np.array(d), pred)
    assert d.getpalette()[6:9] == [0, 128, 0]  # DAVIS colour of id 2
    with pytest.raises(ValueError, match='unknown palette'):
        VideoPredictionWriterHook(str(tmp_path), palette='voc')
