"""Apply per-frame transforms to every frame of a clip."""
from contextlib import nullcontext
from typing import Callable, Dict, List, Sequence, Union

from mmcv.transforms import TransformBroadcaster
from mmcv.transforms.utils import cache_random_params

from mmvidseg.registry import TRANSFORMS

#: Keys that :class:`LoadVideoFrames` stores as one entry per frame.
CLIP_KEYS = ('img', 'gt_seg_map', 'img_shape', 'ori_shape', 'scale_factor',
             'flip', 'flip_direction', 'keep_ratio')


@TRANSFORMS.register_module()
class ClipTransformBroadcaster(TransformBroadcaster):
    """:class:`mmcv.transforms.TransformBroadcaster` set up for clips.

    It broadcasts ordinary single-image transforms (mmseg/mmcv ``Resize``,
    ``RandomCrop``, ``RandomFlip``, ``PhotoMetricDistortion``, ...) over the
    per-frame lists of a clip, with two additions:

    * the mapping is built for you from the per-frame keys present in the
      results (``CLIP_KEYS``), so configs need no long ``mapping`` dicts;
    * with ``share_random_params=True`` the key frame is processed first, so
      cached random parameters are drawn on the key frame: a ``RandomCrop``
      with ``cat_max_ratio`` checks the key frame's label, as in single-frame
      training. The lists keep their time order in the results.

    Use ``share_random_params=True`` for geometric transforms (the same crop
    and flip for every frame) and ``False`` for photometric ones that a method
    applies independently per frame.

    Args:
        transforms (list[dict | callable]): Single-image transforms.
        share_random_params (bool): Share random parameters across frames.
        keys (Sequence[str]): Per-frame keys to broadcast over when present.
    """

    def __init__(self,
                 transforms: List[Union[Dict, Callable[[Dict], Dict]]],
                 share_random_params: bool = True,
                 keys: Sequence[str] = CLIP_KEYS) -> None:
        super().__init__(
            transforms=transforms,
            mapping={'img': 'img'},
            auto_remap=True,
            share_random_params=share_random_params)
        self.keys = tuple(keys)

    def transform(self, results: Dict) -> Dict:
        imgs = results.get('img')
        if not isinstance(imgs, list) or not imgs:
            raise ValueError(
                'ClipTransformBroadcaster expects results["img"] to be a '
                'non-empty list of frames (use LoadVideoFrames before it)')
        num = len(imgs)
        keys = [
            k for k in self.keys
            if isinstance(results.get(k), list) and len(results[k]) == num
        ]
        self.mapping = self.remapping = {k: k for k in keys}
        key_index = results.get('key_index', num - 1)
        order = [key_index] + [i for i in range(num) if i != key_index]
        for k in keys:
            results[k] = [results[k][i] for i in order]
        scatters = self.scatter_sequence(self._map_input(results,
                                                         self.mapping))
        ctx = cache_random_params if self.share_random_params else nullcontext
        with ctx(self.transforms):
            outputs = [self._apply_transforms(s) for s in scatters]
        # Collate the per-frame keys only: transforms may add other keys to
        # some frames and not others (mmseg's RandomFlip 'swap_seg_labels').
        for k in keys:
            results[k] = [out.get(k) for out in outputs]
        inverse = sorted(range(num), key=order.__getitem__)
        for k in keys:
            results[k] = [results[k][i] for i in inverse]
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(transforms={self.transforms}, '
                f'share_random_params={self.share_random_params})')
