"""Convert MS-TFAL ``DeepLabV3Plus`` (``net/Ours/base18.py``) state dicts to
mmvidseg (:class:`ResNet18OS8` + :class:`DeepLabV3PlusLiteHead`) and back.

Name map (original -> ours; the rest of each key is unchanged)::

    resnet.resnet.0.           -> backbone.conv1.
    resnet.resnet.1.           -> backbone.bn1.
    resnet.resnet.4.           -> backbone.layer1.
    resnet.resnet.5.           -> backbone.layer2.
    resnet.layer4. / layer5.   -> backbone.layer4. / layer5.
    aspp.conv_1x1_1. / bn_conv_1x1_1.   -> decode_head.aspp_convs.0.0. / .1.
    aspp.conv_3x3_{i}. / bn_conv_3x3_{i}.                 (i = 1, 2, 3)
                               -> decode_head.aspp_convs.{i}.0. / .1.
    aspp.conv_1x1_2. / bn_conv_1x1_2.   -> decode_head.image_pool.1. / .2.
    aspp.conv_1x1_3. / bn_conv_1x1_3.   -> decode_head.aspp_bottleneck.0. / .1.
    aspp.conv_1x1_4.           -> decode_head.aspp_out.
    project.{0,1}.             -> decode_head.project.{0,1}.
    classifier.{0,1}.          -> decode_head.fuse_conv.{0,1}.
    classifier.3.              -> decode_head.conv_seg.

The authors' checkpoints (``epoch_*_checkpoint.t7``) are the plain
``state_dict()`` of an ``nn.DataParallel`` model; its ``module.`` prefix is
stripped.
"""
from collections import OrderedDict
from typing import List, Mapping, Tuple

import torch

#: (original prefix, mmvidseg prefix); the first matching prefix wins.
PREFIXES: List[Tuple[str, str]] = [
    ('resnet.resnet.0.', 'backbone.conv1.'),
    ('resnet.resnet.1.', 'backbone.bn1.'),
    ('resnet.resnet.4.', 'backbone.layer1.'),
    ('resnet.resnet.5.', 'backbone.layer2.'),
    ('resnet.layer4.', 'backbone.layer4.'),
    ('resnet.layer5.', 'backbone.layer5.'),
    ('aspp.conv_1x1_1.', 'decode_head.aspp_convs.0.0.'),
    ('aspp.bn_conv_1x1_1.', 'decode_head.aspp_convs.0.1.'),
] + [(f'aspp.{kind}conv_3x3_{i}.', f'decode_head.aspp_convs.{i}.{j}.')
     for i in (1, 2, 3) for j, kind in enumerate(('', 'bn_'))] + [
    ('aspp.conv_1x1_2.', 'decode_head.image_pool.1.'),
    ('aspp.bn_conv_1x1_2.', 'decode_head.image_pool.2.'),
    ('aspp.conv_1x1_3.', 'decode_head.aspp_bottleneck.0.'),
    ('aspp.bn_conv_1x1_3.', 'decode_head.aspp_bottleneck.1.'),
    ('aspp.conv_1x1_4.', 'decode_head.aspp_out.'),
    ('project.0.', 'decode_head.project.0.'),
    ('project.1.', 'decode_head.project.1.'),
    ('classifier.0.', 'decode_head.fuse_conv.0.'),
    ('classifier.1.', 'decode_head.fuse_conv.1.'),
    ('classifier.3.', 'decode_head.conv_seg.'),
]


def _rename(key: str, pairs: List[Tuple[str, str]]) -> str:
    for old, new in pairs:
        if key.startswith(old):
            return new + key[len(old):]
    return ''


def convert_mstfal_checkpoint(state_dict: Mapping[str, torch.Tensor]
                              ) -> 'OrderedDict[str, torch.Tensor]':
    """Rename an original ``DeepLabV3Plus(num_classes, 18)`` state dict
    (an authors' ``*.t7`` file, ``module.`` prefix or not) to mmvidseg names
    (``backbone.*``, ``decode_head.*``), e.g. for
    ``model.load_state_dict(convert_mstfal_checkpoint(torch.load(path)))``.

    Raises:
        KeyError: A key that no rule knows (not an MS-TFAL
            ``DeepLabV3Plus`` state dict, or one already converted).
    """
    out: 'OrderedDict[str, torch.Tensor]' = OrderedDict()
    for key, value in state_dict.items():
        bare = key[len('module.'):] if key.startswith('module.') else key
        new = _rename(bare, PREFIXES)
        if not new:
            raise KeyError(f'{key!r} is not a key of MS-TFAL DeepLabV3Plus '
                           '(net/Ours/base18.py)')
        out[new] = value
    return out


def mmvidseg_to_mstfal(state_dict: Mapping[str, torch.Tensor]
                       ) -> 'OrderedDict[str, torch.Tensor]':
    """Inverse of :func:`convert_mstfal_checkpoint` (without ``module.``).

    Raises:
        KeyError: A key outside the MS-TFAL backbone and head.
    """
    backward = [(new, old) for old, new in PREFIXES]
    out: 'OrderedDict[str, torch.Tensor]' = OrderedDict()
    for key, value in state_dict.items():
        new = _rename(key, backward)
        if not new:
            raise KeyError(f'{key!r} has no MS-TFAL DeepLabV3Plus name')
        out[new] = value
    return out
