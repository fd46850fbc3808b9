"""Convert STCN checkpoints (official or ``kaylode/ivos``) to mmvidseg names.

Layouts read (a DataParallel ``module.`` prefix is removed):

==========================================  ================================
official STCN (``hkchengrex/STCN``)         mmvidseg :class:`STCN`
==========================================  ================================
``key_encoder.{conv1,bn1,layer2,layer3}``   ``key_encoder.*`` (mmseg ResNet)
``key_encoder.res2``                        ``key_encoder.layer1``
``value_encoder.{conv1,bn1,layer1..3}``     ``value_encoder.backbone.*``
``value_encoder.fuser.block{1,2}``          same
``value_encoder.fuser.attention`` (CBAM)    ``value_encoder.fuser.attention``
``.ChannelGate.mlp.{1,3}``,                 ``.channel_mlp.{0,2}``,
``.SpatialGate.spatial.conv``               ``.spatial_conv``
``key_proj.key_proj``                       ``key_proj``
``key_comp``, ``decoder.*``                 same
==========================================  ================================

``kaylode/ivos`` (``STCNTrain`` / ``STCNEval``): ``key_encoder.model.*`` ->
``key_encoder.*``, ``value_encoder.model.*`` -> ``value_encoder.backbone.*``,
``key_proj.key_proj`` -> ``key_proj``, the rest as is (no CBAM).

The encoders of both are ResNets whose convolutions may have a bias
(``mod_resnet``); every such conv is followed by a batch norm, so the bias is
folded into that norm's running mean (``running_mean -= bias``), which is
exact in eval mode and irrelevant in train mode (batch statistics).

A single-object value encoder (``conv1`` with 4 input channels: image +
mask) gets a fifth input channel as the original ``load_network``: an
orthogonally initialised (64, 1, 7, 7) block (seeded here), or zeros.
"""
from typing import Dict, List, Mapping, Tuple

import torch
from torch import Tensor

StateDict = Dict[str, Tensor]
LAYOUTS = ('official', 'ivos', 'mmvidseg')
_BACKBONES = ('key_encoder.', 'value_encoder.backbone.')
#: What ``kaylode/ivos`` got from the official checkpoint through its
#: ``strict=False`` load (the other names differ from its own).
_IVOS_LOADED = ('key_proj.', 'key_comp.', 'decoder.',
                'value_encoder.fuser.block1.', 'value_encoder.fuser.block2.')
_OFFICIAL_RULES: List[Tuple[str, str]] = [
    ('key_encoder.res2.', 'key_encoder.layer1.'),
    ('value_encoder.fuser.attention.ChannelGate.mlp.1.',
     'value_encoder.fuser.attention.channel_mlp.0.'),
    ('value_encoder.fuser.attention.ChannelGate.mlp.3.',
     'value_encoder.fuser.attention.channel_mlp.2.'),
    ('value_encoder.fuser.attention.SpatialGate.spatial.conv.',
     'value_encoder.fuser.attention.spatial_conv.'),
    ('key_proj.key_proj.', 'key_proj.'),
] + [(f'value_encoder.{n}.', f'value_encoder.backbone.{n}.')
     for n in ('conv1', 'bn1', 'layer1', 'layer2', 'layer3')]
_IVOS_RULES: List[Tuple[str, str]] = [
    ('key_encoder.model.', 'key_encoder.'),
    ('value_encoder.model.', 'value_encoder.backbone.'),
    ('key_proj.key_proj.', 'key_proj.'),
]


def stcn_checkpoint_layout(state: Mapping[str, Tensor]) -> str:
    """``'official'``, ``'ivos'`` or ``'mmvidseg'`` (prefix-free keys)."""
    if any(k.startswith('key_encoder.model.') for k in state):
        return 'ivos'
    if any(k.startswith('value_encoder.backbone.') for k in state):
        return 'mmvidseg'
    if any(k.startswith(('key_encoder.res2.', 'value_encoder.conv1.'))
           for k in state):
        return 'official'
    sample = ', '.join(list(state)[:5])
    raise ValueError('not an STCN checkpoint (no key_encoder.res2 / '
                     'key_encoder.model / value_encoder.backbone keys; first '
                     f'keys: {sample})')


def _rename(key: str, rules: List[Tuple[str, str]]) -> str:
    for old, new in rules:
        if key.startswith(old):
            return new + key[len(old):]
    return key


def _norm_of(conv: str) -> str:
    """The batch norm after a ResNet conv (``conv1`` -> ``bn1``,
    ``downsample.0`` -> ``downsample.1``)."""
    head, _, leaf = conv.rpartition('.')
    if leaf == '0' and head.endswith('downsample'):
        return f'{head}.1'
    if leaf.startswith('conv'):
        return f'{head}.bn{leaf[4:]}' if head else f'bn{leaf[4:]}'
    raise KeyError(f'no batch norm known after conv {conv!r}')


def _fold_conv_biases(state: StateDict) -> None:
    for key in [k for k in state if k.startswith(_BACKBONES)
                and k.endswith('.bias')]:
        conv = key[:-len('.bias')]
        weight = state.get(f'{conv}.weight')
        if weight is None or weight.dim() != 4:
            continue  # a batch-norm bias
        mean = f'{_norm_of(conv)}.running_mean'
        if mean not in state:
            raise KeyError(f'cannot fold the bias of {conv}: {mean} is '
                           'missing')
        state[mean] = state[mean] - state.pop(key).to(state[mean].dtype)


def _pad_value_conv(state: StateDict, pad: str, seed: int) -> None:
    key = 'value_encoder.backbone.conv1.weight'
    weight = state.get(key)
    if weight is None or weight.size(1) != 4:
        return
    extra = torch.zeros(weight.size(0), 1, *weight.shape[2:],
                        dtype=weight.dtype)
    if pad == 'orthogonal':
        torch.nn.init.orthogonal_(
            extra, generator=torch.Generator().manual_seed(seed))
    elif pad != 'zeros':
        raise ValueError(f"pad must be 'orthogonal' or 'zeros', got {pad!r}")
    state[key] = torch.cat([weight, extra], 1)


def convert_stcn_checkpoint(state_dict: Mapping[str, Tensor],
                            drop_attention: bool = False,
                            heads_only: bool = False,
                            pad: str = 'orthogonal',
                            seed: int = 0) -> StateDict:
    """Official or ``kaylode/ivos`` STCN weights as :class:`STCN` weights.

    Args:
        state_dict (Mapping[str, Tensor]): The checkpoint's tensors
            (``module.`` prefixes allowed).
        drop_attention (bool): Drop the official CBAM weights (for a model
            with ``fuser_attention=False``, e.g. the FLARE22 config).
        heads_only (bool): Keep only what ``kaylode/ivos`` actually loaded
            from the official checkpoint (``strict=False`` with its own
            names): ``key_proj``, ``key_comp``, ``decoder`` and the fusion
            ResBlocks; the encoders then keep their (ImageNet) weights.
        pad (str): Fifth value-encoder input channel of a single-object
            checkpoint: ``'orthogonal'`` (the original) or ``'zeros'``.
        seed (int): Seed of the orthogonal padding.

    Returns:
        dict[str, Tensor]: mmvidseg names.
    """
    state = {(k[len('module.'):] if k.startswith('module.') else k): v
             for k, v in state_dict.items()}
    layout = stcn_checkpoint_layout(state)
    if layout != 'mmvidseg':
        rules = _OFFICIAL_RULES if layout == 'official' else _IVOS_RULES
        state = {_rename(k, rules): v for k, v in state.items()}
        _fold_conv_biases(state)
        _pad_value_conv(state, pad, seed)
    if drop_attention:
        state = {k: v for k, v in state.items()
                 if not k.startswith('value_encoder.fuser.attention.')}
    if heads_only:
        state = {k: v for k, v in state.items() if k.startswith(_IVOS_LOADED)}
    return state
