"""MS-TFAL DeepLabV3Plus <-> mmvidseg key conversion (the numbers are
checked by the golden tests of the backbone and the head)."""
import pytest
import torch

from mmvidseg.models.backbones import ResNet18OS8
from mmvidseg.models.converters import (convert_mstfal_checkpoint,
                                        mmvidseg_to_mstfal)
from mmvidseg.models.decode_heads import DeepLabV3PlusLiteHead


def _ours():
    state = {f'backbone.{k}': v for k, v in ResNet18OS8().state_dict().items()}
    head = DeepLabV3PlusLiteHead(num_classes=12)
    state.update({f'decode_head.{k}': v for k, v in head.state_dict().items()})
    return state


def test_round_trip_and_names():
    ours = _ours()
    original = mmvidseg_to_mstfal(ours)
    # DeepLabV3Plus(12, 18).state_dict() has 178 entries
    assert len(original) == len(ours) == 178
    for name in ('resnet.resnet.0.weight', 'resnet.resnet.5.0.downsample.'
                 '1.running_var', 'resnet.layer5.1.conv2.weight',
                 'aspp.conv_3x3_3.bias', 'aspp.bn_conv_1x1_2.weight',
                 'aspp.conv_1x1_4.weight', 'project.1.bias',
                 'classifier.3.bias'):
        assert name in original
    assert list(convert_mstfal_checkpoint(original)) == list(ours)
    wrapped = {f'module.{k}': v for k, v in original.items()}
    assert list(convert_mstfal_checkpoint(wrapped)) == list(ours)


def test_unknown_keys_raise():
    with pytest.raises(KeyError, match='not a key of MS-TFAL'):
        convert_mstfal_checkpoint({'backbone.conv1.weight': torch.zeros(1)})
    with pytest.raises(KeyError, match='no MS-TFAL'):
        mmvidseg_to_mstfal({'auxiliary_head.conv.weight': torch.zeros(1)})
