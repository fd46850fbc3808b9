"""Two-stage volume inference end to end on the shared CT with tiny random
CPS and STCN models: the API (bounded memory) and tools/infer_volume.py."""
import os.path as osp

import numpy as np
import pytest
import torch

from mmvidseg.apis import TwoStageVolumeInferencer
from mmvidseg.models.utils import MemoryBank
from mmvidseg.registry import MODELS
from mmvidseg.utils.volume_benchmark import (tiny_config, tiny_cps_model,
                                             tiny_stcn_model)

from .._flare_data import make_flare_layout, totalseg_paths
from ._run import run, tool

nib = pytest.importorskip('nibabel')


def _tiny_models():
    torch.manual_seed(0)
    cps = MODELS.build(tiny_cps_model()).eval()
    stcn = MODELS.build(tiny_stcn_model()).eval()
    return cps, stcn


def _check_geometry(out_path, in_path):
    out, src = nib.load(out_path), nib.load(in_path)
    assert out.shape == src.shape and out.get_data_dtype() == np.uint8
    np.testing.assert_allclose(out.affine, src.affine)
    assert out.header.get_zooms() == src.header.get_zooms()
    for get in ('get_qform', 'get_sform'):
        a, ca = getattr(out.header, get)(coded=True)
        b, cb = getattr(src.header, get)(coded=True)
        assert int(ca) == int(cb)
        if b is not None:
            np.testing.assert_allclose(a, b)
    labels = np.asarray(out.dataobj)
    assert labels.min() >= 0 and labels.max() <= 13
    return labels


def test_two_stage_tiny_models_bounded_memory(shared_data, tmp_path,
                                              monkeypatch):
    ct = totalseg_paths(shared_data)[0]
    cps, stcn = _tiny_models()
    sizes, kinds, devices = [], [], set()
    write = MemoryBank.write

    def spy(bank, *args, **kwargs):
        write(bank, *args, **kwargs)
        sizes.append(bank.num_frames)
        kinds.append(len(bank.working))
        devices.update(t.device.type for t in bank.held_tensors())

    monkeypatch.setattr(MemoryBank, 'write', spy)
    inferencer = TwoStageVolumeInferencer(
        cps, stcn, size=64, memory_on_cpu=True, max_mem_frames=2,
        progress=False)
    res = inferencer(ct, str(tmp_path))
    (case, r), = res.items()
    assert case == 'example_ct_sm' and r['num_slices'] == 30
    assert r['references'], 'the tiny CPS predicted only background'
    labels = _check_geometry(r['out'], ct)
    assert labels.shape == (122, 101, 30)
    # the memory never holds more than reference + 2 working + temporary,
    # and the bound was reached (working entries pruned)
    assert sizes and max(sizes) <= 1 + 2 + 1 and max(kinds) == 2
    assert devices == {'cpu'}
    assert r['timings']['propagation_s'] > 0


@pytest.mark.slow
def test_infer_volume_tool(shared_data, tmp_path):
    root = make_flare_layout(tmp_path / 'flare', shared_data)
    cps, stcn = _tiny_models()
    args = []
    for name, model, cfg in (('cps', cps, tiny_cps_model()),
                             ('stcn', stcn, tiny_stcn_model())):
        cfg_path = str(tmp_path / f'{name}_tiny.py')
        tiny_config(cfg).dump(cfg_path)
        ckpt = str(tmp_path / f'{name}.pth')
        torch.save(dict(state_dict=model.state_dict(), meta={}), ckpt)
        args += [f'--{name}-config', cfg_path, f'--{name}-checkpoint', ckpt]
    images = osp.join(root, 'imagesTr')
    out_dir = tmp_path / 'preds'
    proc = run([tool('infer_volume.py'), images, *args, '--out-dir',
                str(out_dir), '--size', '64', '--memory-on-cpu',
                '--acc-dtype', 'float16', '--no-progress'])
    assert 'FLARE22_Tr_0001: 30 slices' in proc.stdout
    out = out_dir / 'FLARE22_Tr_0001.nii.gz'
    labels = _check_geometry(str(out),
                             osp.join(images, 'FLARE22_Tr_0001_0000.nii.gz'))
    # the same models in-process give the same labels (up to float16
    # rounding: the tool runs with another number of threads)
    inferencer = TwoStageVolumeInferencer(cps, stcn, size=64,
                                          acc_dtype='float16',
                                          memory_on_cpu=True, progress=False)
    res = inferencer(images, str(tmp_path / 'api'))
    api = np.asarray(nib.load(res['FLARE22_Tr_0001']['out']).dataobj)
    assert (api == labels).mean() > 0.995


@pytest.mark.slow
def test_infer_volume_tool_errors(tmp_path):
    missing = str(tmp_path / 'missing_0000.nii.gz')
    proc = run([tool('infer_volume.py'), missing, '--cps-config', 'x.py',
                '--stcn-config', 'y.py', '--out-dir', str(tmp_path)],
               check=False)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert lines == [f'infer_volume.py: error: input volume {missing!r} '
                     'does not exist']
    ct = tmp_path / 'a_0000.nii.gz'
    nib.Nifti1Image(np.zeros((4, 4, 4), np.int16), np.eye(4)).to_filename(
        str(ct))
    proc = run([tool('infer_volume.py'), str(ct), '--cps-config', 'x.py',
                '--out-dir', str(tmp_path)], check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip() == ('infer_volume.py: error: --stcn-config '
                                   'is required for two-stage inference '
                                   '(or use --stage cps)')
