"""Convert an original TMANet checkpoint (mmseg 0.7 fork) for mmvidseg.

Example::

    python tools/model_converters/tmanet2mmvidseg.py \\
        tmanet_r50-d8_769x769_80k_cityscapes_video.pth tmanet_r50_city.pth
"""
import argparse

import torch

from mmvidseg.models.converters import convert_tmanet_checkpoint
from mmvidseg.utils.io import atomic_path


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='original TMANet checkpoint')
    parser.add_argument('dst', help='converted checkpoint')
    args = parser.parse_args()
    # The original checkpoints pickle mmcv-1.x/numpy objects in 'meta':
    # only load files you trust.
    checkpoint = torch.load(args.src, map_location='cpu', weights_only=False)
    converted = convert_tmanet_checkpoint(checkpoint)
    with atomic_path(args.dst) as tmp:
        torch.save(converted, tmp)
    print(f"converted {len(converted['state_dict'])} tensors to {args.dst}")


if __name__ == '__main__':
    main()
