import torch
import torch.nn.functional as F
from mmcv.ops import ModulatedDeformConv2d
from torch import nn

from mmvidseg.utils.complexity import count_macs


class _Net(nn.Module):

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.dcn = ModulatedDeformConv2d(8, 4, 3, padding=1,
                                         deform_groups=2)

    def _forward(self, x):
        y = self.conv(x)
        n, c, h, w = y.shape
        offset = y.new_zeros(n, 2 * 2 * 9, h, w)
        mask = y.new_ones(n, 2 * 9, h, w)
        z = self.dcn(y, offset, mask)  # (1, 4, 16, 16)
        q = z.flatten(2).transpose(1, 2)[:, None]  # (1, 1, 256, 4)
        return F.scaled_dot_product_attention(q, q, q)


def test_count_macs_counts_convolutions_dcn_and_attention():
    macs = count_macs(_Net(), torch.randn(1, 3, 16, 16))
    conv = 16 * 16 * 8 * 3 * 9
    dcn = 16 * 16 * 4 * 8 * 9
    attention = 256 * 256 * (4 + 4)
    ops = macs['by_operator']
    assert ops['conv'] == conv
    assert ops['PythonOp.ModulatedDeformConv2dFunction'] == dcn
    assert ops['scaled_dot_product_attention'] == attention
    assert macs['total'] == conv + dcn + attention
