"""Convert TMANet (mmseg 0.7 fork) checkpoints to mmvidseg and back.

The original head stores its per-slot memory embeddings layer first,
``decode_head.memory_key_conv.<layer>.<slot>.<conv|bn>...`` (an
``nn.Sequential`` of two ``SequenceConv`` module lists); :class:`TMAHead`
stores them slot first, ``decode_head.memory_key_convs.<slot>.<layer>...``,
so that slot ``i`` is one module applied to memory frame ``i``. All other
keys (backbone, query embeddings, bottleneck, classifier, auxiliary head)
have the same names in both.
"""
import re
from collections import OrderedDict
from typing import Dict, Mapping

import torch

_ORIGINAL = re.compile(
    r'^decode_head\.memory_(key|value)_conv\.(\d+)\.(\d+)\.(.+)$')
_OURS = re.compile(
    r'^decode_head\.memory_(key|value)_convs\.(\d+)\.(\d+)\.(.+)$')


def tmanet_to_mmvidseg(state_dict: Mapping[str, torch.Tensor]
                       ) -> 'OrderedDict[str, torch.Tensor]':
    """Rename an original TMANet state dict to :class:`TMAHead` names.

    Raises:
        KeyError: The state dict already has mmvidseg names, or has no
            TMANet memory embedding at all (not a TMANet checkpoint).
    """
    out: 'OrderedDict[str, torch.Tensor]' = OrderedDict()
    found = False
    for key, value in state_dict.items():
        if _OURS.match(key):
            raise KeyError(f'{key!r} already uses mmvidseg names')
        m = _ORIGINAL.match(key)
        if m:
            kind, layer, slot, rest = m.groups()
            key = f'decode_head.memory_{kind}_convs.{slot}.{layer}.{rest}'
            found = True
        out[key] = value
    if not found:
        raise KeyError('no decode_head.memory_key_conv.<layer>.<slot> keys: '
                       'this is not a TMANet checkpoint')
    return out


def mmvidseg_to_tmanet(state_dict: Mapping[str, torch.Tensor]
                       ) -> 'OrderedDict[str, torch.Tensor]':
    """Inverse of :func:`tmanet_to_mmvidseg`."""
    out: 'OrderedDict[str, torch.Tensor]' = OrderedDict()
    for key, value in state_dict.items():
        m = _OURS.match(key)
        if m:
            kind, slot, layer, rest = m.groups()
            key = f'decode_head.memory_{kind}_conv.{layer}.{slot}.{rest}'
        out[key] = value
    return out


def convert_tmanet_checkpoint(checkpoint: Dict) -> Dict:
    """Convert a whole mmseg-0.7 checkpoint dict.

    Returns:
        dict: ``state_dict`` with mmvidseg names and ``meta`` whose
        ``dataset_meta`` holds ``classes``/``palette`` when the original
        meta had ``CLASSES``/``PALETTE``.
    """
    state = checkpoint.get('state_dict', checkpoint)
    meta = dict(checkpoint.get('meta', {}) or {})
    dataset_meta = {}
    if meta.get('CLASSES') is not None:
        dataset_meta['classes'] = tuple(meta['CLASSES'])
    if meta.get('PALETTE') is not None:
        dataset_meta['palette'] = [list(p) for p in meta['PALETTE']]
    new_meta = dict(converted_from='TMANet (mmseg 0.7)')
    if dataset_meta:
        new_meta['dataset_meta'] = dataset_meta
    return dict(state_dict=tmanet_to_mmvidseg(state), meta=new_meta)
