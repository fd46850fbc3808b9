"""Convert SALI and whai362 PVTv2 weights to mmvidseg names (and back).

SALI (``Scatteredrain/SALI``) saves the ``state_dict`` of its
``DataParallel``-wrapped ``VideoModel``. Its parts map to ours as follows:

============================================  ================================
SALI                                          mmvidseg
============================================  ================================
``backbone.feat_net.pvtv2_en.*`` (whai362)    ``backbone.*`` (mmdet
                                              ``PyramidVisionTransformerV2``)
``backbone.feat_net.rfb{2,3,4}_1.*``          ``neck.blocks.{0,1,2}.*``
``backbone.decoder.NCD.*``                    ``decode_head.decoder.ncd.*``
``backbone.decoder.RS{5,4,3}.<g>_gra.conv.0``  ``decode_head.decoder
                                              .reverse_stage{5,4,3}
                                              .<g>_gra.conv``
``membranch.Key{0,1,2}`` / ``Value{0,1,2}``   ``decode_head.key_convs.{i}`` /
                                              ``decode_head.value_convs.{i}``
``pcd_align.*``                               ``decode_head.alignment.*``
``nlnet.nl_layer{1,2,3}.{g.0,W,residual_conv}``  ``decode_head.fusion.blocks
                                              .{0,1,2}.{g,out_proj,
                                              residual_conv}``
``nlnet.conv{1,2,3}.*``                       ``decode_head.fusion.fuse_convs
                                              .{0,1,2}.*``
============================================  ================================

A ``module.`` prefix (``DataParallel``) is removed. whai362 PVTv2 names
(``patch_embed1.proj``, ``block1.0.attn.q``, ``norm1``, ...) become mmdet's
through mmdet's own ``pvt_convert`` (q and kv projections concatenated into
``in_proj``, 1x1 conv FFN weights), after a check that every key is a PVTv2
key.
"""
import re
from collections import OrderedDict
from typing import Dict, List, Mapping, Tuple

import torch
from mmdet.models.backbones.pvt import pvt_convert

Tensor = torch.Tensor
StateDict = Dict[str, Tensor]

_PVT_KEY = re.compile(
    r'^(patch_embed[1-4]\.(proj|norm)'
    r'|block[1-4]\.\d+\.(norm1|norm2|attn\.(q|kv|proj|sr|norm)'
    r'|mlp\.(fc1|fc2|dwconv\.dwconv))'
    r'|norm[1-4])\.(weight|bias)$')
_PVT_DROPPED = ('head.', )  # ImageNet classifier
_SALI_BACKBONE = 'backbone.feat_net.pvtv2_en.'

# (SALI template, mmvidseg template, index offset). ``{i}``: an index that
# is ``offset`` larger in SALI; ``{k}``: an index kept as is; ``{w}``: a
# word; ``{leaf}``: weight/bias; ``{rest}``: any suffix.
_RULES = [
    ('backbone.feat_net.rfb{i}_1.{rest}', 'neck.blocks.{i}.{rest}', 2),
    ('backbone.decoder.NCD.{rest}', 'decode_head.decoder.ncd.{rest}', 0),
    ('backbone.decoder.RS{k}.{w}_gra.conv.0.{leaf}',
     'decode_head.decoder.reverse_stage{k}.{w}_gra.conv.{leaf}', 0),
    ('backbone.decoder.RS{k}.{w}_gra.score.{leaf}',
     'decode_head.decoder.reverse_stage{k}.{w}_gra.score.{leaf}', 0),
    ('membranch.Key{k}.{leaf}', 'decode_head.key_convs.{k}.{leaf}', 0),
    ('membranch.Value{k}.{leaf}', 'decode_head.value_convs.{k}.{leaf}', 0),
    ('pcd_align.{rest}', 'decode_head.alignment.{rest}', 0),
    ('nlnet.nl_layer{i}.g.0.{leaf}', 'decode_head.fusion.blocks.{i}.g.{leaf}',
     1),
    ('nlnet.nl_layer{i}.W.{leaf}',
     'decode_head.fusion.blocks.{i}.out_proj.{leaf}', 1),
    ('nlnet.nl_layer{i}.residual_conv.{leaf}',
     'decode_head.fusion.blocks.{i}.residual_conv.{leaf}', 1),
    ('nlnet.conv{i}.{rest}', 'decode_head.fusion.fuse_convs.{i}.{rest}', 1),
]
_FIELDS = {
    'i': r'(?P<i>\d+)',
    'k': r'(?P<k>\d+)',
    'w': r'(?P<w>[a-z]+)',
    'leaf': r'(?P<leaf>weight|bias)',
    'rest': r'(?P<rest>.+)'
}


def _compile(template: str) -> 're.Pattern':
    parts = re.split(r'\{(\w+)\}', template)
    pattern = ''.join(
        _FIELDS[p] if n % 2 else re.escape(p) for n, p in enumerate(parts))
    return re.compile(f'^{pattern}$')


_FORWARD = [(_compile(s), o, off) for s, o, off in _RULES]
_BACKWARD = [(_compile(o), s, -off) for s, o, off in _RULES]


def _apply(rules, key: str):
    for pattern, template, offset in rules:
        m = pattern.match(key)
        if m:
            fields = m.groupdict()
            if 'i' in fields:
                fields['i'] = str(int(fields['i']) - offset)
            return template.format(**fields)
    return None


def _strip_module(state: Mapping[str, Tensor]) -> Dict[str, Tensor]:
    return {(k[len('module.'):] if k.startswith('module.') else k): v
            for k, v in state.items()}


def _unknown(keys: List[str], what: str) -> ValueError:
    sample = ', '.join(repr(k) for k in keys[:5])
    more = f' (and {len(keys) - 5} more)' if len(keys) > 5 else ''
    return ValueError(f'{len(keys)} unknown key(s) in {what}: {sample}{more}')


def convert_pvt_v2(state_dict: Mapping[str, Tensor]) -> StateDict:
    """Rename whai362 PVTv2 keys for mmdet's ``PyramidVisionTransformerV2``.

    The ImageNet classifier (``head.*``) is dropped and a ``module.`` prefix
    removed.

    Raises:
        ValueError: A key is not a PVTv2 (whai362) key, or an attention has
            ``q`` without ``kv`` (or the reverse).
    """
    state = {
        k: v
        for k, v in _strip_module(state_dict).items()
        if not k.startswith(_PVT_DROPPED)
    }
    unknown = [k for k in state if not _PVT_KEY.match(k)]
    if unknown:
        raise _unknown(unknown, 'a whai362 PVTv2 state dict')
    for key in state:
        for a, b in (('.attn.q.', '.attn.kv.'), ('.attn.kv.', '.attn.q.')):
            if a in key and key.replace(a, b) not in state:
                raise ValueError(f'{key!r} has no matching '
                                 f'{key.replace(a, b)!r}')
    return OrderedDict(pvt_convert(state))


def _pvt_v2_from_mmdet(state: Mapping[str, Tensor]) -> StateDict:
    """Inverse of :func:`convert_pvt_v2` (mmdet names -> whai362 names)."""
    rules = [
        (r'^layers\.(\d+)\.0\.projection\.', 'patch_embed{s}.proj.'),
        (r'^layers\.(\d+)\.0\.norm\.', 'patch_embed{s}.norm.'),
        (r'^layers\.(\d+)\.1\.(\d+)\.attn\.attn\.out_proj\.',
         'block{s}.{j}.attn.proj.'),
        (r'^layers\.(\d+)\.1\.(\d+)\.attn\.', 'block{s}.{j}.attn.'),
        (r'^layers\.(\d+)\.1\.(\d+)\.ffn\.layers\.0\.',
         'block{s}.{j}.mlp.fc1.'),
        (r'^layers\.(\d+)\.1\.(\d+)\.ffn\.layers\.1\.',
         'block{s}.{j}.mlp.dwconv.dwconv.'),
        (r'^layers\.(\d+)\.1\.(\d+)\.ffn\.layers\.4\.',
         'block{s}.{j}.mlp.fc2.'),
        (r'^layers\.(\d+)\.1\.(\d+)\.', 'block{s}.{j}.'),
        (r'^layers\.(\d+)\.2\.', 'norm{s}.'),
    ]
    out: StateDict = OrderedDict()
    for key, value in state.items():
        for pattern, template in rules:
            m = re.match(pattern, key)
            if m:
                groups = m.groups()
                new = template.format(
                    s=int(groups[0]) + 1,
                    j=groups[1] if len(groups) > 1 else '') + key[m.end():]
                break
        else:
            raise _unknown([key], 'an mmdet PyramidVisionTransformerV2 '
                           'state dict')
        if new.endswith('attn.attn.in_proj_weight') or new.endswith(
                'attn.attn.in_proj_bias'):
            leaf = new.rsplit('_', 1)[-1]
            base = new[:-len('attn.in_proj_' + leaf)]
            dim = value.shape[0] // 3
            out[f'{base}q.{leaf}'] = value[:dim]
            out[f'{base}kv.{leaf}'] = value[dim:]
            continue
        if '.mlp.fc' in new and new.endswith('.weight'):
            value = value.flatten(1)
        out[new] = value
    return out


def convert_sali_checkpoint(state_dict: Mapping[str, Tensor]) -> StateDict:
    """Rename a SALI ``VideoModel`` state dict to mmvidseg names.

    Partial state dicts (only some parts) are renamed as well.

    Raises:
        ValueError: Keys that belong to no SALI part (a few are listed).
    """
    state = _strip_module(state_dict)
    out: StateDict = OrderedDict()
    backbone = {
        k[len(_SALI_BACKBONE):]: v
        for k, v in state.items() if k.startswith(_SALI_BACKBONE)
    }
    if backbone:
        for key, value in convert_pvt_v2(backbone).items():
            out[f'backbone.{key}'] = value
    unknown = []
    for key, value in state.items():
        if key.startswith(_SALI_BACKBONE):
            continue
        new = _apply(_FORWARD, key)
        if new is None:
            unknown.append(key)
        else:
            out[new] = value
    if unknown:
        raise _unknown(unknown, 'a SALI VideoModel state dict')
    return out


def mmvidseg_to_sali(state_dict: Mapping[str, Tensor]) -> StateDict:
    """Inverse of :func:`convert_sali_checkpoint` (without ``module.``).

    Raises:
        ValueError: Keys of no SALI part (e.g. an auxiliary head).
    """
    out: StateDict = OrderedDict()
    backbone = {
        k[len('backbone.'):]: v
        for k, v in state_dict.items() if k.startswith('backbone.')
    }
    for key, value in _pvt_v2_from_mmdet(backbone).items():
        out[_SALI_BACKBONE + key] = value
    unknown = []
    for key, value in state_dict.items():
        if key.startswith('backbone.'):
            continue
        new = _apply(_BACKWARD, key)
        if new is None:
            unknown.append(key)
        else:
            out[new] = value
    if unknown:
        raise _unknown(unknown, 'an mmvidseg SALI state dict')
    return out


def convert_sali_weights(state_dict: Mapping[str, Tensor]
                         ) -> Tuple[StateDict, str]:
    """Convert either a SALI model or a whai362 PVTv2 (ImageNet) state dict.

    Returns:
        tuple[OrderedDict, str]: mmvidseg-named state dict (only
        ``backbone.*`` for PVTv2) and ``'sali'`` or ``'pvt_v2'``.

    Raises:
        ValueError: Neither kind of checkpoint.
    """
    keys = list(_strip_module(state_dict))
    if any(k.startswith(('backbone.feat_net.', 'pcd_align.', 'nlnet.',
                         'membranch.')) for k in keys):
        return convert_sali_checkpoint(state_dict), 'sali'
    if any(k.startswith(('patch_embed1.', 'block1.')) for k in keys):
        converted = convert_pvt_v2(state_dict)
        return OrderedDict(
            (f'backbone.{k}', v) for k, v in converted.items()), 'pvt_v2'
    sample = ', '.join(repr(k) for k in keys[:5])
    raise ValueError('neither a SALI VideoModel nor a whai362 PVTv2 state '
                     f'dict (first keys: {sample})')
