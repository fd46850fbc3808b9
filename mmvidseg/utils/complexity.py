"""Multiply-accumulate counts of a model's forward pass.

mmengine's :class:`~mmengine.analysis.FlopAnalyzer` counts one fused
multiply-add as one operation (i.e. MACs, the unit papers quote as
"FLOPs"/"MACs"); it does not know mmcv's modulated deformable convolution
(a Python autograd function) nor ``scaled_dot_product_attention``. Both are
counted here: a deformable convolution as the convolution it computes (the
bilinear sampling of its inputs excluded), an attention as its two matrix
products.
"""
from collections import Counter
from math import prod
from typing import Any, Dict, List

import torch
from torch import nn

DCN_OP = 'prim::PythonOp.ModulatedDeformConv2dFunction'
SDPA_OP = 'aten::scaled_dot_product_attention'


def _shape(value: Any) -> List[int]:
    from mmengine.analysis.jit_handles import get_shape
    return list(get_shape(value))


def modulated_deform_conv_macs(inputs: List[Any],
                               outputs: List[Any]) -> int:
    """(N, Cout, Ho, Wo) outputs x Cin/groups x kh x kw."""
    weight = _shape(inputs[3])  # x, offset, mask, weight, bias, ...
    return prod(_shape(outputs[0])) * prod(weight[1:])


def sdpa_macs(inputs: List[Any], outputs: List[Any]) -> int:
    """``q k^T`` (L x S x E) and ``softmax(.) v`` (L x S x Ev)."""
    q, k, v = (_shape(x) for x in inputs[:3])
    return prod(q[:-1]) * k[-2] * (q[-1] + v[-1])


def _mm_macs(inputs: List[Any], outputs: List[Any]) -> int:
    a, b = _shape(inputs[0]), _shape(inputs[1])
    return prod(a) * b[-1]


class _Forward(nn.Module):

    def __init__(self, model: nn.Module, method: str) -> None:
        super().__init__()
        self.model = model
        self.method = method

    def forward(self, *inputs: torch.Tensor) -> Any:
        return getattr(self.model, self.method)(*inputs)


@torch.no_grad()
def count_macs(model: nn.Module,
               inputs: torch.Tensor,
               method: str = '_forward') -> Dict[str, Any]:
    """Count the MACs of ``model.<method>(inputs)``.

    Args:
        model (nn.Module): The model (put in eval mode).
        inputs (Tensor): Its input, e.g. (1, T, 3, H, W).
        method (str): The method traced (mmseg's tensor-mode ``_forward``).

    Returns:
        dict: ``total`` (MACs), ``by_operator`` (MACs per traced operator
        kind) and ``uncounted`` (operators counted as zero: element-wise
        ones, top-k, ...).
    """
    from mmengine.analysis import FlopAnalyzer
    model.eval()
    analyzer = FlopAnalyzer(_Forward(model, method), (inputs, ))
    analyzer.set_op_handle(DCN_OP, modulated_deform_conv_macs)
    analyzer.set_op_handle(SDPA_OP, sdpa_macs)
    # ``torch.mm(a, b, out=buffer)`` (the tiled memory read) traces with the
    # output buffer as a third input
    analyzer.set_op_handle('aten::mm', _mm_macs)
    analyzer.unsupported_ops_warnings(False)
    analyzer.uncalled_modules_warnings(False)
    return dict(
        total=int(analyzer.total()),
        by_operator=dict(Counter(analyzer.by_operator())),
        uncounted=sorted(analyzer.unsupported_ops()))


def run_macs(cfg, shape=None, device: str = 'cpu') -> Dict[str, Any]:
    """MACs of one inference step of a config's model.

    A streaming model runs the clip a frame reader gives it (its
    ``stream_frame_ids``; SALI: current and neighbour frames, both encoded,
    as the original counts), others one key-frame clip of the training
    pipeline's length.

    Returns:
        dict: ``settings`` and ``macs`` (``total``, ``gmacs``,
        ``by_operator``, ``uncounted``).
    """
    import copy

    from mmengine.registry import init_default_scope

    import mmvidseg  # noqa: F401 (registers the modules)
    from mmvidseg.models.segmentors import StreamingMixin
    from mmvidseg.registry import MODELS

    from .benchmark import _input_shape, device_settings, train_clip_len
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    model_cfg = copy.deepcopy(cfg.model)
    shape = _input_shape(model_cfg, shape)
    model = MODELS.build(model_cfg).to(device)
    if isinstance(model, StreamingMixin):
        clip = len(model.stream_frame_ids(0, False)[0])
    else:
        clip = train_clip_len(cfg)
    inputs = torch.randn(1, clip, 3, *shape, device=device)
    macs = count_macs(model, inputs)
    macs['gmacs'] = macs['total'] / 1e9
    return dict(
        settings=dict(model=type(model).__name__,
                      **device_settings(torch.device(device)),
                      shape=list(shape), clip_len=clip),
        macs=macs)


def format_macs(report: Dict[str, Any]) -> List[str]:
    """Printable lines of :func:`run_macs`'s report."""
    settings = report['settings']
    macs = report['macs']
    lines = ['settings: ' + ', '.join(f'{k}={v}'
                                      for k, v in settings.items()),
             f"MACs: {macs['gmacs']:.2f} G"]
    for op, n in sorted(macs['by_operator'].items(), key=lambda x: -x[1]):
        lines.append(f'  {op}: {n / 1e9:.3f} G')
    if macs['uncounted']:
        lines.append('not counted (element-wise, top-k, ...): ' +
                     ', '.join(macs['uncounted']))
    return lines
