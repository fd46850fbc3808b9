"""A TransUNet-style hybrid encoder from two mmseg backbones."""
from typing import Optional, Tuple

from mmengine.model import BaseModule
from torch import Tensor

from mmvidseg.registry import MODELS


@MODELS.register_module()
class ResNetViTHybrid(BaseModule):
    """ResNet stages, then a ViT on the tokens of the last stage.

    The encoder of TransUNet R50-ViT-B/16 (used by kaylode/ivos
    ``TransUnetPE``): a ResNet-50 up to stride 16 (three stages, 1024
    channels), a 1x1 "patch" embedding of its last map into ViT-B tokens
    (``patch_size=1``: one token per 16 x 16 pixels), 12 transformer layers
    and a final norm. Built here from mmseg's ``ResNetV1c`` and
    ``VisionTransformer`` configs (TransUNet's ResNet is a ResNetV2 with
    group norm and weight standardisation; mmseg has none).

    Outputs the CNN maps but the last (skips, e.g. 1/4 and 1/8) followed by
    the ViT outputs reshaped to maps (``out_indices`` of the ViT).

    Args:
        resnet (dict): mmseg ResNet config whose last output is the token
            map (e.g. ``ResNetV1c``, ``num_stages=3``,
            ``out_indices=(0, 1, 2)``).
        vit (dict): mmseg ``VisionTransformer`` config with ``in_channels``
            = the ResNet's last width and ``patch_size=1``.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 resnet: dict,
                 vit: dict,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.cnn = MODELS.build(resnet)
        self.vit = MODELS.build(vit)

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """(N, 3, H, W) -> CNN skip maps + ViT maps (N, C, H/16, W/16)."""
        feats = tuple(self.cnn(x))
        if not feats:
            raise ValueError('ResNetViTHybrid: the ResNet returns no maps')
        return feats[:-1] + tuple(self.vit(feats[-1]))
