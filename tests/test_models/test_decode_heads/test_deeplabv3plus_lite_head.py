"""DeepLabV3PlusLiteHead: golden values of MS-TFAL's DeepLabV3Plus (commit
538475e, ``/tmp/m1_golden/golden.py``, see ``_mstfal_fill.py``), shapes,
the unit-norm embedding, backward."""
import pytest
import torch
import torch.nn.functional as F

from mmvidseg.models.decode_heads import DeepLabV3PlusLiteHead
from mmvidseg.registry import MODELS

from .._mstfal_fill import build_filled, seeded_input, summary

# golden.py output, original net(x) with x = seeded_input()
EVAL_LOGITS = (842343.8125, 4069136.0, [
    -33.035892486572266, -56.9223747253418, 48.668373107910156,
    61.26666259765625, 7.0195722579956055
])
EVAL_EMB = (92.86589050292969, 1059.96533203125, [
    0.0, 0.0, -0.034235358238220215, 0.025502504780888557,
    0.09471916407346725
])
TRAIN_LOGITS = (15575.1015625, 74497.390625, [
    -0.2244674563407898, 0.17453883588314056, 0.7435024976730347,
    1.5279529094696045, -0.8914209008216858
])
TRAIN_EMB = (110.17098236083984, 2140.79052734375, [
    0.05178171396255493, 0.015216520056128502, 0.1349249929189682,
    0.04195358231663704, -0.08973019570112228
])
TRAIN_RUNNING_MEAN_TOTAL = 5.9110918045043945
GRAD_ASPP_D12_ABSSUM = 41742.6015625  # aspp.conv_3x3_2.weight
GRAD_CONV1_ABSSUM = 53110.18359375  # resnet.resnet.0.weight


def _check(actual, expected, rtol=1e-5):
    total, abs_total, elems = actual
    assert total == pytest.approx(expected[0], rel=rtol)
    assert abs_total == pytest.approx(expected[1], rel=rtol)
    assert elems == pytest.approx(expected[2], rel=rtol, abs=1e-5)


def _run(backbone, head, x):
    logits, emb = head.forward_with_embedding(backbone(x))
    return head.upsample_logits(logits, x.shape[2:]), logits, emb


def test_golden_eval():
    backbone, head = build_filled()
    backbone.eval(), head.eval()
    with torch.no_grad():
        out, logits, emb = _run(backbone, head, seeded_input()[:1])
        plain = head(backbone(seeded_input()[:1]))
    assert out.shape == (1, 12, 64, 80) and emb.shape == (1, 304, 8, 10)
    _check(summary(out), EVAL_LOGITS)
    _check(summary(emb), EVAL_EMB)
    torch.testing.assert_close(plain, logits, rtol=0, atol=0)


def test_golden_train_and_backward():
    backbone, head = build_filled()
    backbone.train(), head.train()
    out, _, emb = _run(backbone, head, seeded_input())
    _check(summary(out), TRAIN_LOGITS)
    _check(summary(emb), TRAIN_EMB)
    running = sum(v.sum() for m in (backbone, head)
                  for k, v in m.state_dict().items()
                  if k.endswith('running_mean'))
    assert running.item() == pytest.approx(TRAIN_RUNNING_MEAN_TOTAL, rel=1e-5)
    (out.square().mean() + emb.sum()).backward()
    grad = head.aspp_convs[2][0].weight.grad.abs().sum().item()
    assert grad == pytest.approx(GRAD_ASPP_D12_ABSSUM, rel=1e-4)
    grad = backbone.conv1.weight.grad.abs().sum().item()
    assert grad == pytest.approx(GRAD_CONV1_ABSSUM, rel=1e-4)
    assert all(p.grad is not None for p in head.parameters())


def test_shapes_embedding_norm_and_registry():
    head = MODELS.build(dict(type='DeepLabV3PlusLiteHead', num_classes=5))
    assert isinstance(head, DeepLabV3PlusLiteHead) and head.dropout is None
    head.eval()
    x = torch.randn(2, 512, 7, 9)
    with torch.no_grad():
        logits, emb = head.forward_with_embedding([x])
    assert logits.shape == (2, 5, 7, 9) and emb.shape == (2, 304, 7, 9)
    torch.testing.assert_close(emb.norm(dim=1), torch.ones(2, 7, 9))
    up = head.upsample_logits(logits, (56, 72))
    torch.testing.assert_close(
        up, F.interpolate(logits, (56, 72), mode='bilinear',
                          align_corners=False))
    assert not head.align_corners
    # a zero feature vector stays zero (F.normalize's eps), no NaN
    head.project[0].weight.data.zero_()
    for m in [*head.aspp_convs, head.image_pool, head.aspp_bottleneck]:
        m[-2].bias.data.fill_(-1e4)  # ReLU -> 0
    head.aspp_out.weight.data.zero_(), head.aspp_out.bias.data.zero_()
    with torch.no_grad():
        _, emb = head.forward_with_embedding([x])
    assert torch.isfinite(emb).all() and emb.abs().sum() == 0


def test_bad_arguments():
    with pytest.raises(ValueError, match='dilations'):
        DeepLabV3PlusLiteHead(num_classes=3, dilations=(6, 12))
    with pytest.raises(TypeError, match='in_channels'):
        DeepLabV3PlusLiteHead(
            num_classes=3, in_channels=[256, 512], in_index=[0, 1],
            input_transform='multiple_select')
