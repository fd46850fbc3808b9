"""Map published self-supervised weights onto mmseg feature extractors.

Label propagation runs a frozen feature extractor; users bring the published
checkpoints (nothing is downloaded). Supported formats:

* ``'crw'``: videowalk CRW ``pretrained.pth`` (``encoder.model.*`` keys of a
  torchvision ResNet),
* ``'moco'``: MoCo v1/v2 (``module.encoder_q.*``),
* ``'simsiam'``: SimSiam (``module.encoder.*``),
* ``'torchvision'``: a plain torchvision ResNet (ImageNet, DINO ResNet-50),
* ``'timm_vit'``: timm-style ViT names (MAE, DINO ViT, CatMAE encoders),
* ``'mmseg'``: already in mmseg names (``backbone.`` prefix is stripped).

torchvision ResNet names equal mmseg ``ResNet`` names (``conv1``, ``bn1``,
``layer1.0.conv1``, ``downsample.0``), so ResNets only need the wrapper
prefixes removed and the unused ``layer4``/``fc`` dropped.
"""
import re
import warnings
from collections import OrderedDict
from typing import Callable, Dict, Mapping

import torch
from torch import nn

Tensor = torch.Tensor
WRAPPERS = ('state_dict', 'model', 'teacher', 'student', 'net')


def unwrap_checkpoint(checkpoint: Mapping) -> Dict[str, Tensor]:
    """The tensor dict inside common checkpoint wrappers."""
    state = checkpoint
    for _ in range(3):
        for key in WRAPPERS:
            if isinstance(state, Mapping) and isinstance(state.get(key),
                                                         Mapping):
                state = state[key]
                break
        else:
            break
    return {k: v for k, v in state.items() if isinstance(v, Tensor)}


def _strip(state: Mapping[str, Tensor], prefix: str,
           fmt: str) -> Dict[str, Tensor]:
    out = {k[len(prefix):]: v for k, v in state.items()
           if k.startswith(prefix)}
    if not out:
        sample = ', '.join(list(state)[:5])
        raise KeyError(f'no {prefix!r} keys: not a {fmt} checkpoint '
                       f'(first keys: {sample})')
    return out


def _resnet(state: Mapping[str, Tensor]) -> Dict[str, Tensor]:
    return {k: v for k, v in state.items()
            if not k.startswith(('fc.', 'layer4.'))}


def _timm_vit(state: Mapping[str, Tensor]) -> Dict[str, Tensor]:
    rules = [
        (r'^patch_embed\.proj\.', 'patch_embed.projection.'),
        (r'^blocks\.(\d+)\.norm1\.', r'layers.\1.ln1.'),
        (r'^blocks\.(\d+)\.norm2\.', r'layers.\1.ln2.'),
        (r'^blocks\.(\d+)\.attn\.qkv\.weight$',
         r'layers.\1.attn.attn.in_proj_weight'),
        (r'^blocks\.(\d+)\.attn\.qkv\.bias$',
         r'layers.\1.attn.attn.in_proj_bias'),
        (r'^blocks\.(\d+)\.attn\.proj\.', r'layers.\1.attn.attn.out_proj.'),
        (r'^blocks\.(\d+)\.mlp\.fc1\.', r'layers.\1.ffn.layers.0.0.'),
        (r'^blocks\.(\d+)\.mlp\.fc2\.', r'layers.\1.ffn.layers.1.'),
        (r'^norm\.', 'ln1.'),
    ]
    out = OrderedDict()
    for key, value in state.items():
        key = re.sub(r'^(module\.|backbone\.|encoder\.)', '', key)
        if key.startswith(('decoder', 'mask_token', 'head', 'fc_norm')):
            continue  # MAE decoder, classifier heads
        for pattern, repl in rules:
            new = re.sub(pattern, repl, key)
            if new != key:
                key = new
                break
        out[key] = value
    return out


CONVERTERS: Dict[str, Callable[[Mapping[str, Tensor]], Dict[str, Tensor]]] = {
    'crw': lambda s: _resnet(_strip(s, 'encoder.model.', 'videowalk CRW')),
    'moco': lambda s: _resnet(_strip(s, 'module.encoder_q.', 'MoCo')),
    'simsiam': lambda s: _resnet(_strip(s, 'module.encoder.', 'SimSiam')),
    'torchvision': _resnet,
    'timm_vit': _timm_vit,
    'mmseg': lambda s: {re.sub(r'^backbone\.', '', k): v
                        for k, v in s.items()},
}


def load_extractor_weights(backbone: nn.Module, path: str,
                           fmt: str) -> None:
    """Load a published checkpoint into ``backbone`` (strictly).

    Keys the extractor does not use (``layer4``, ``fc``, MAE decoders) are
    dropped by the converter; any other mismatch raises.

    Raises:
        KeyError: Unknown format, or missing/unexpected/mis-shaped keys,
            listed by name.
    """
    if fmt not in CONVERTERS:
        raise KeyError(f'unknown checkpoint format {fmt!r}; choose from '
                       f'{sorted(CONVERTERS)}')
    try:
        checkpoint = torch.load(path, map_location='cpu', weights_only=True)
    except Exception:  # pickled argparse/numpy objects (DINO, MAE, MoCo)
        warnings.warn(f'{path!r} holds non-tensor objects; loading it with '
                      'weights_only=False (only load files you trust)')
        checkpoint = torch.load(path, map_location='cpu',
                                weights_only=False)
    state = CONVERTERS[fmt](unwrap_checkpoint(checkpoint))
    own = backbone.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = sorted(k for k in set(own) & set(state)
                    if own[k].shape != state[k].shape and k != 'pos_embed')
    if missing or unexpected or shapes:
        raise KeyError(
            f'{path!r} ({fmt}) does not fit {type(backbone).__name__}: '
            f'missing {missing[:8]}{"..." if len(missing) > 8 else ""}, '
            f'unexpected {unexpected[:8]}'
            f'{"..." if len(unexpected) > 8 else ""}, '
            f'shape mismatch {shapes[:8]}')
    if 'pos_embed' in state and state['pos_embed'].shape != \
            own['pos_embed'].shape:
        raise KeyError(
            f"pos_embed {tuple(state['pos_embed'].shape)} does not match "
            f"{tuple(own['pos_embed'].shape)}: set the backbone's img_size/"
            'patch_size to the pre-training ones (the grid is interpolated '
            'to any input size at run time)')
    backbone.load_state_dict(state, strict=True)
