"""SALI / whai362 PVTv2 converters and tools/model_converters/sali2mmvidseg.py.

Golden values: the original SALI code (github Scatteredrain/SALI, commit
c760e64, ``lib/pvt_v2.py`` with timm stubbed) run by
``/tmp/h1_golden/golden_modules.py`` (key ``pvt_tiny``): a tiny whai362
PVTv2 (embed dims 8/16/40/64, heads 1/2/5/8, depths 1/2/1/1, mlp ratio 4,
sr 8/4/2/1, qkv bias, LN eps 1e-6) filled by ``_sali_fill.py`` under
``backbone.feat_net.pvtv2_en.*``, on ``seeded_randn(1, 3, 64, 56, seed=30)``.
The key count / crc32 of the original tiny ``VideoModel`` state dict (PVTv2
depths 1/1/1/1) come from ``/tmp/h1_golden/keys_crc.py``.
"""
import importlib.util
import os.path as osp
import zlib

import pytest
import torch
import torch.nn as nn
from mmdet.models.backbones import PyramidVisionTransformerV2

from mmvidseg.models.converters import (convert_pvt_v2,
                                        convert_sali_checkpoint,
                                        convert_sali_weights, mmvidseg_to_sali)
from mmvidseg.models.layers import NonLocalFusion, PCDAlignment, SINetV2Decoder
from mmvidseg.models.necks import RFBNeck

from .._sali_fill import assert_summary, fill_like_sali_, seeded_randn

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(__file__))))
GOLDEN_PVT = [[25.47654256, 1513.197788, -0.5970219374, -0.4773031175,
               -0.2132106274, -1.764302731],
              [7.195924256, 731.3052588, -1.149444461, 0.5399139524,
               -0.3614645302, 0.1459253877],
              [11.27640264, 502.1572106, 0.2123821974, -0.644820869,
               -0.60782516, -0.2480378747],
              [3.451987201, 200.0818252, 0.3339218199, 1.420205712,
               0.4923580289, -1.180663466]]
ORIGINAL_TINY_VIDEOMODEL_KEYS = (536, 2146131263)  # (count, crc32)
WHAI362 = 'backbone.feat_net.pvtv2_en.'


def _mmdet_pvt(embed_dims=8, num_layers=(1, 2, 1, 1), whai362_eps=True):
    model = PyramidVisionTransformerV2(
        embed_dims=embed_dims, num_layers=list(num_layers),
        num_heads=[1, 2, 5, 8], mlp_ratios=[4, 4, 4, 4],
        sr_ratios=[8, 4, 2, 1], qkv_bias=True, drop_path_rate=0.,
        norm_cfg=dict(type='LN', eps=1e-6))
    if whai362_eps:
        # whai362 builds the patch-embedding and spatial-reduction norms
        # with nn.LayerNorm's default eps (1e-5); mmdet uses norm_cfg's
        for name, module in model.named_modules():
            if isinstance(module, nn.LayerNorm) and name.endswith(
                    ('.0.norm', '.attn.norm')):
                module.eps = 1e-5
    return model.eval()


@torch.no_grad()
@pytest.mark.parametrize('whai362_eps', [True, False])
def test_tiny_pvt_v2_matches_whai362(whai362_eps):
    model = fill_like_sali_(_mmdet_pvt(whai362_eps=whai362_eps), 'backbone.')
    outs = model(seeded_randn(1, 3, 64, 56, seed=30))
    assert [tuple(o.shape) for o in outs] == [(1, 8, 16, 14), (1, 16, 8, 7),
                                              (1, 40, 4, 4), (1, 64, 2, 2)]
    for out, golden in zip(outs, GOLDEN_PVT):
        # mmdet's single LN eps moves outputs by ~1e-4 relative
        assert_summary(out, golden, rtol=1e-5 if whai362_eps else 1e-3)
    if not whai362_eps:
        with pytest.raises(AssertionError):
            assert_summary(outs[0], GOLDEN_PVT[0], rtol=1e-5)


def _whai362_state():
    mmdet_keys = {f'backbone.{k}': v
                  for k, v in _mmdet_pvt().state_dict().items()}
    return {k[len(WHAI362):]: v for k, v in mmvidseg_to_sali(
        mmdet_keys).items()}


def test_convert_pvt_v2_raw_checkpoint():
    raw = _whai362_state()
    shapes = {k: tuple(v.shape) for k, v in raw.items()}
    assert shapes['patch_embed1.proj.weight'] == (8, 3, 7, 7)
    assert shapes['block2.1.attn.kv.weight'] == (32, 16)
    assert shapes['block1.0.attn.sr.weight'] == (8, 8, 8, 8)
    assert shapes['block3.0.mlp.fc1.weight'] == (160, 40)
    assert shapes['block3.0.mlp.dwconv.dwconv.weight'] == (160, 1, 3, 3)
    assert 'norm4.weight' in shapes and 'block4.0.attn.sr.weight' not in raw
    raw = {k: torch.randn(v.shape) for k, v in raw.items()}
    wrapped = {f'module.{k}': v for k, v in raw.items()}
    wrapped['module.head.weight'] = torch.zeros(1000, 64)
    converted = convert_pvt_v2(wrapped)
    model = _mmdet_pvt()
    model.load_state_dict(converted, strict=True)
    q, kv = raw['block2.1.attn.q.weight'], raw['block2.1.attn.kv.weight']
    torch.testing.assert_close(
        converted['layers.1.1.1.attn.attn.in_proj_weight'],
        torch.cat([q, kv]))
    torch.testing.assert_close(converted['layers.2.1.0.ffn.layers.4.weight'],
                               raw['block3.0.mlp.fc2.weight'][..., None,
                                                              None])


def test_convert_pvt_v2_errors():
    raw = _whai362_state()
    with pytest.raises(ValueError, match=r"unknown key\(s\).*'pos_embed1'"):
        convert_pvt_v2(dict(raw, pos_embed1=torch.zeros(1)))
    del raw['block1.0.attn.kv.bias']
    with pytest.raises(ValueError, match='no matching'):
        convert_pvt_v2(raw)


class _TinySALI(nn.Module):
    """Our parts under the names the SALI segmentor uses."""

    def __init__(self):
        super().__init__()
        self.backbone = _mmdet_pvt(64, (1, 1, 1, 1))
        self.neck = RFBNeck()
        self.decode_head = nn.Module()
        head = self.decode_head
        head.key_convs = nn.ModuleList(
            [nn.Conv2d(32, 4, 3, padding=1) for _ in range(3)])
        head.value_convs = nn.ModuleList(
            [nn.Conv2d(32, 16, 3, padding=1) for _ in range(3)])
        head.alignment = PCDAlignment(32, 8)
        head.fusion = NonLocalFusion(32)
        head.decoder = SINetV2Decoder(32)


def test_full_model_names_and_round_trip():
    ours = _TinySALI().state_dict()
    original = mmvidseg_to_sali(ours)
    keys = sorted(original)
    assert (len(keys), zlib.crc32('\n'.join(keys).encode())) == \
        ORIGINAL_TINY_VIDEOMODEL_KEYS
    for key in ('backbone.decoder.RS3.strong_gra.conv.0.weight',
                'backbone.feat_net.rfb4_1.conv_res.bn.running_var',
                'membranch.Value2.bias', 'nlnet.nl_layer3.W.weight',
                'pcd_align.dcn_pack.l1.conv_offset.weight',
                'nlnet.conv2.bn.num_batches_tracked'):
        assert key in original, key
    wrapped = {f'module.{k}': v for k, v in original.items()}
    back = convert_sali_checkpoint(wrapped)
    assert set(back) == set(ours)
    assert all(torch.equal(back[k], ours[k]) for k in ours)
    state, kind = convert_sali_weights(wrapped)
    assert kind == 'sali' and set(state) == set(ours)


def test_sali_errors():
    with pytest.raises(ValueError, match=r"2 unknown key\(s\).*'foo.bar'"):
        convert_sali_checkpoint({
            'foo.bar': torch.zeros(1),
            'membranch.Key3.running_mean': torch.zeros(1),
            'membranch.Key0.weight': torch.zeros(1)
        })
    with pytest.raises(ValueError, match='unknown key'):
        mmvidseg_to_sali({'auxiliary_head.conv.weight': torch.zeros(1)})
    with pytest.raises(ValueError, match='neither a SALI'):
        convert_sali_weights({'conv1.weight': torch.zeros(1)})


@pytest.fixture(scope='module')
def cli():
    path = osp.join(ROOT, 'tools', 'model_converters', 'sali2mmvidseg.py')
    spec = importlib.util.spec_from_file_location('sali2mmvidseg', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tool(cli, tmp_path, capsys):
    raw = _whai362_state()
    torch.save(dict(raw, **{'head.bias': torch.zeros(1000)}),
               tmp_path / 'pvt.pth')
    cli.main([str(tmp_path / 'pvt.pth'), str(tmp_path / 'out' / 'a.pth')])
    ckpt = torch.load(tmp_path / 'out' / 'a.pth')
    assert ckpt['meta'] == dict(converted_from='whai362 PVTv2')
    assert set(ckpt['state_dict']) == {
        f'backbone.{k}'
        for k in _mmdet_pvt().state_dict()
    }
    assert 'whai362 PVTv2' in capsys.readouterr().out

    sali = {'module.membranch.Key1.weight': torch.ones(4, 32, 3, 3)}
    torch.save(sali, tmp_path / 'sali.pth')
    cli.main([str(tmp_path / 'sali.pth'), str(tmp_path / 'b.pth')])
    ckpt = torch.load(tmp_path / 'b.pth')
    assert list(ckpt['state_dict']) == ['decode_head.key_convs.1.weight']

    torch.save({'patch_embed1.proj.weight': torch.zeros(1),
                'cls_token': torch.zeros(1)}, tmp_path / 'bad.pth')
    with pytest.raises(SystemExit) as exc:
        cli.main([str(tmp_path / 'bad.pth'), str(tmp_path / 'c.pth')])
    assert exc.value.code == (
        f"sali2mmvidseg.py: error: {tmp_path / 'bad.pth'}: 1 unknown "
        "key(s) in a whai362 PVTv2 state dict: 'cls_token'")
    assert not (tmp_path / 'c.pth').exists()
