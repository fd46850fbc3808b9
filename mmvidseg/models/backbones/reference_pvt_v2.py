"""PVTv2 computing exactly as the reference implementation."""
from mmdet.models.backbones import PyramidVisionTransformerV2
from torch import nn

from mmvidseg.registry import MODELS


@MODELS.register_module()
class ReferencePVTv2(PyramidVisionTransformerV2):
    """mmdet's ``PyramidVisionTransformerV2`` with the LayerNorm epsilons of
    the reference implementation (``whai362/PVT``, the backbone of SALI).

    The reference builds its patch-embedding norms and its spatial-reduction
    norms with PyTorch's default ``eps=1e-5`` and every other norm with
    ``1e-6``; mmdet uses one ``norm_cfg`` for all. With ``norm_cfg`` eps
    1e-6 (the default here) and those two kinds set back to 1e-5, the
    outputs equal the reference's to float precision (about 1e-7 relative,
    instead of 1e-4). Parameter names are mmdet's: convert reference
    checkpoints with ``tools/model_converters/sali2mmvidseg.py``, or give a
    raw reference checkpoint to ``init_cfg=dict(type='Pretrained', ...)``,
    which mmdet converts itself.

    Args:
        **kwargs: ``PyramidVisionTransformerV2`` arguments.
    """

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault('norm_cfg', dict(type='LN', eps=1e-6))
        super().__init__(**kwargs)
        for name, module in self.named_modules():
            if isinstance(module, nn.LayerNorm) and (
                    name.endswith('.0.norm') or name.endswith('attn.norm')):
                module.eps = 1e-5
