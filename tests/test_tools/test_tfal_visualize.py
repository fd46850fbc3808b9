"""tools/analysis_tools/tfal_visualize.py and mmvidseg.apis.TFALVisualizer
on a fake EndoVis18 with a randomly initialised MS-TFAL model."""
import csv
import importlib.util
import json
import os.path as osp
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.runner import Runner

from mmvidseg.apis import TFALVisualizer, tfal_visual_maps
from mmvidseg.apis.tfal_visualizer import minmax_normalise
from mmvidseg.models.utils import tfal_affinity

from ..test_datasets.endovis18_fake import make_fake_endovis18
from ._run import ROOT, run, tool
from .test_mstfal_tools import _set

CONFIG = osp.join(ROOT, 'configs', 'ms_tfal',
                  'mstfal_r18-d8_1xb1-clip4-amp-25e_endovis18-256x320.py')
H, W = 64, 80
SEQS = (1, 2, 3)
RANK_WEIGHTS = (0.4, 0.7, 1.0)


@pytest.fixture(autouse=True)
def one_thread():
    """One torch thread: far faster than two on a shared, busy CPU."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    """A fake EndoVis18 (3 videos x 4 frames of 64 x 80) and a config."""
    tmp = tmp_path_factory.mktemp('tfal_vis')
    root = str(tmp / 'endovis18')
    make_fake_endovis18(root, seqs=SEQS, frames=4, size=(H, W))
    cfg = Config.fromfile(CONFIG)
    cfg.model.backbone.init_cfg = None
    hook = cfg.custom_hooks[0]
    hook.update(rank_weights=RANK_WEIGHTS, num_uncertain=1)
    rel = hook.reliability_dataloader
    rel.num_workers = 0
    rel.dataset.data_root = root
    rel.dataset.videos = list(SEQS)
    _set(cfg._cfg_dict, 'scale', (W, H))
    path = str(tmp / 'mstfal_tiny.py')
    cfg.dump(path)
    no_hook = Config.fromfile(path)
    no_hook.custom_hooks = []
    bad = str(tmp / 'no_hook.py')
    no_hook.dump(bad)
    return SimpleNamespace(tmp=tmp, root=root, config=path, bad=bad)


def _load_tool():
    spec = importlib.util.spec_from_file_location(
        'tfal_visualize', tool(osp.join('analysis_tools',
                                        'tfal_visualize.py')))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _read(path, flags=cv2.IMREAD_UNCHANGED):
    img = cv2.imread(path, flags)
    assert img is not None, path
    return img


def test_tool_writes_ranking_and_maps(tiny):
    out = tiny.tmp / 'out'
    proc = run([tool(osp.join('analysis_tools', 'tfal_visualize.py')),
                tiny.config, 'none', '--out-dir', str(out), '--frames', '2',
                '--videos', 'seq_1', 'seq_3'])
    assert 'least reliable first' in proc.stdout
    report = json.load(open(out / 'reliability.json'))
    rows = report['videos']
    assert sorted(r['video'] for r in rows) == ['seq_1', 'seq_2', 'seq_3']
    assert [r['rank'] for r in rows] == [1, 2, 3]
    qs = [r['q'] for r in rows]
    assert qs == sorted(qs)  # least reliable first
    assert [r['weight'] for r in rows] == list(RANK_WEIGHTS)
    assert report['uncertain'] == [rows[0]['video']]
    assert [r['uncertain'] for r in rows] == [True, False, False]
    for r in rows:
        assert r['frames'] == 4
        assert r['q'] == pytest.approx(r['mean_a_p'] +
                                       r['one_minus_mean_a_n'])
        assert f"{r['video']}" in proc.stdout
    assert report['p_thr'] == pytest.approx(
        np.mean([r['mean_a_p'] for r in rows]))
    with open(out / 'reliability.csv') as f:
        table = list(csv.DictReader(f))
    assert [t['video'] for t in table] == [r['video'] for r in rows]
    assert float(table[0]['q']) == pytest.approx(rows[0]['q'])

    k = int(0.4 * H * W)
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == \
        ['seq_1', 'seq_3']  # --videos
    for video in ('seq_1', 'seq_3'):
        names = sorted(p.name for p in (out / video).iterdir())
        assert not [n for n in names if n.startswith('.')]  # no temp files
        assert len(names) == 2 * 6  # frames 0 and 1 only
        for stem in ('frame000', 'frame001'):
            base = str(out / video / stem)
            assert _read(f'{base}_confidence.png').shape == (H, W, 3)
            masks = {m: _read(f'{base}_noise_{m}.png') for m in
                     ('p', 'n', 'intersection', 'union')}
            for m in masks.values():
                assert m.shape == (H, W) and set(np.unique(m)) <= {0, 255}
            p, n = masks['p'] > 0, masks['n'] > 0
            assert p.sum() == k and n.sum() == k
            assert np.array_equal(masks['intersection'] > 0, p & n)
            assert np.array_equal(masks['union'] > 0, p | n)
            # frame | noisy | clean | confidence | intersection
            panel = _read(f'{base}_panel.png')
            assert panel.shape == (H, 5 * W, 3)
            assert np.array_equal(panel[:, 4 * W:, 0], masks['intersection'])


def test_ranking_matches_hook(tiny):
    vis = TFALVisualizer(tiny.config, None)
    ranking = vis.rank(progress=False)
    assert ranking['videos'] == ['seq_1', 'seq_2', 'seq_3']
    runner = SimpleNamespace(build_dataloader=Runner.build_dataloader,
                             logger=MMLogger.get_current_instance(), rank=0)
    vis.model.train()
    result = vis.hook.update_reliability(runner, vis.model)
    assert vis.model.training  # mode restored
    assert result['weights'] == ranking['weights']
    assert result['uncertain'] == ranking['uncertain']
    assert result['p_thr'] == pytest.approx(ranking['p_thr'])
    assert result['n_thr'] == pytest.approx(ranking['n_thr'])
    assert vis.model.video_weights == ranking['weights']
    text = vis.format_ranking(ranking)
    assert text.splitlines()[2].split()[1] == ranking['order'][0]

    # no clean labels: 4 panel columns
    vis.clean_label_dir = 'no_such_dir'
    out = str(tiny.tmp / 'no_clean')
    written = vis.visualize(out, frames=1, ratio=0.3, videos=['seq_2'],
                            progress=False)
    assert written == {'seq_2': ['frame000']}
    assert _read(osp.join(out, 'seq_2', 'frame000_panel.png')).shape == \
        (H, 4 * W, 3)
    mask = _read(osp.join(out, 'seq_2', 'frame000_noise_p.png'))
    assert (mask > 0).sum() == int(0.3 * H * W)
    with pytest.raises(ValueError, match='unknown videos'):
        vis.visualize(out, frames=1, videos=['seq_9'], progress=False)


def test_tfal_visual_maps_golden():
    # Golden values from the original MS-TFAL (BeileiCui/MS-TFAL @ 538475e):
    # net/Ours/TFAL_Module.py TFAL_select_Mask_test (CUDA -> CPU, np.int ->
    # int) for select = p / n / intersection / union (0.4 selection), then
    # TFAL_visualization.py's MinMaxScaler per frame, on these inputs
    # (script: /tmp/v1_golden/golden.py).
    rng = np.random.RandomState(0)
    b, c, h, w, k = 2, 8, 4, 5, 3
    f1 = torch.from_numpy(rng.randn(b, c, h, w))
    f2 = torch.from_numpy(rng.randn(b, c, h, w))
    f1, f2 = (f / f.norm(dim=1, keepdim=True) for f in (f1, f2))
    l1 = torch.from_numpy(rng.randint(0, k, (b, h, w)))
    l2 = torch.from_numpy(rng.randint(0, k, (b, h, w)))
    conf, masks = tfal_visual_maps(tfal_affinity(f1, f2, l1, l2, k), (8, 10))
    assert conf.shape == (2, 8, 10)
    assert conf.reshape(2, -1).sum(1).tolist() == pytest.approx(
        [42.28012852087325, 52.60481022902955])
    assert conf[0, 0, :4].tolist() == pytest.approx(
        [0.45551445847695105, 0.4214315374923363, 0.3532656955231066,
         0.4676711721768638])
    assert float(conf[1, 5, 7]) == pytest.approx(0.762869468970386)
    sums = {m: v.reshape(2, -1).sum(1).tolist() for m, v in masks.items()}
    assert sums == dict(p=[32, 32], n=[32, 32], intersection=[17, 18],
                        union=[47, 46])
    first = {m: torch.nonzero(v[0].reshape(-1))[:8, 0].tolist()
             for m, v in masks.items()}
    assert first == dict(p=[1, 2, 3, 12, 13, 26, 35, 36],
                         n=[0, 1, 10, 11, 12, 22, 40, 46],
                         intersection=[1, 12, 40, 50, 58, 59, 60, 61],
                         union=[0, 1, 2, 3, 10, 11, 12, 13])


def test_minmax_normalise():
    x = torch.tensor([[[1., 3.], [2., 5.]], [[7., 7.], [7., 7.]]])
    out = minmax_normalise(x)
    assert out[0].flatten().tolist() == [0, 0.5, 0.25, 1]
    assert out[1].abs().sum() == 0  # constant frame -> 0 (MinMaxScaler)


def test_bad_config_one_line_error(tiny, capsys):
    tfal_visualize = _load_tool()
    with pytest.raises(SystemExit) as exc:
        tfal_visualize.main([tiny.bad, 'none', '--out-dir',
                             str(tiny.tmp / 'bad')])
    message = str(exc.value.code)
    assert message.startswith('tfal_visualize.py: error: ')
    assert 'no MSTFALHook' in message and '\n' not in message
    assert not osp.exists(tiny.tmp / 'bad')
    with pytest.raises(SystemExit) as exc:
        tfal_visualize.main([tiny.config, str(tiny.tmp / 'missing.pth'),
                             '--out-dir', str(tiny.tmp / 'bad')])
    assert 'missing.pth' in str(exc.value.code)
