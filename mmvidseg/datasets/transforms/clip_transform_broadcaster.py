"""Apply per-frame transforms to every frame of a clip."""
from contextlib import nullcontext
from typing import Callable, Dict, List, Optional, Sequence, Union

from mmcv.transforms import TransformBroadcaster
from mmcv.transforms.utils import cache_random_params

from mmvidseg.registry import TRANSFORMS

from .frame_keys import FRAME_KEYS, add_frame_keys, frame_keys_of

#: Deprecated alias of :data:`frame_keys.FRAME_KEYS`.
CLIP_KEYS = FRAME_KEYS


@TRANSFORMS.register_module()
class ClipTransformBroadcaster(TransformBroadcaster):
    """:class:`mmcv.transforms.TransformBroadcaster` set up for clips.

    It broadcasts ordinary single-image transforms (mmseg/mmcv ``Resize``,
    ``RandomCrop``, ``RandomFlip``, ``Pad``, ``PhotoMetricDistortion``, ...)
    over the per-frame lists of a clip, with three additions:

    * the mapping is built for you from the per-frame keys present in the
      results (:func:`frame_keys.frame_keys_of`), so configs need no long
      ``mapping`` dicts;
    * every per-frame key that the transforms return for **every** frame
      becomes a per-frame list, including keys they add (``scale``,
      ``keep_ratio``, ``pad_shape``, ``pad_fixed_size``, ...; new ones are
      recorded in ``results['frame_keys']``). A key returned for some frames
      only (mmseg ``RandomFlip``'s ``swap_seg_labels``) is dropped, and keys
      describing the whole clip (``video_id``, ``seg_fields``, ...) keep
      their value;
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
        keys (Sequence[str], optional): Per-frame keys to broadcast over when
            present. Defaults to every per-frame key of the results.
    """

    def __init__(self,
                 transforms: List[Union[Dict, Callable[[Dict], Dict]]],
                 share_random_params: bool = True,
                 keys: Optional[Sequence[str]] = None) -> None:
        super().__init__(
            transforms=transforms,
            mapping={'img': 'img'},
            auto_remap=True,
            share_random_params=share_random_params)
        self.keys = None if keys is None else tuple(keys)

    def transform(self, results: Dict) -> Dict:
        imgs = results.get('img')
        if not isinstance(imgs, list) or not imgs:
            raise ValueError(
                'ClipTransformBroadcaster expects results["img"] to be a '
                'non-empty list of frames (use LoadVideoFrames before it)')
        num = len(imgs)
        frame_keys = frame_keys_of(results)
        candidates = frame_keys if self.keys is None else self.keys
        keys = [
            k for k in candidates
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
        # New keys (and known per-frame keys) returned for every frame are
        # collated; keys returned for some frames only are dropped.
        added = [
            k for k in outputs[0]
            if k not in keys and (k not in results or k in frame_keys)
            and all(k in out for out in outputs)
        ]
        inverse = sorted(range(num), key=order.__getitem__)
        for k in keys + added:
            values = [out.get(k) for out in outputs]
            results[k] = [values[i] for i in inverse]
        add_frame_keys(results, added)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(transforms={self.transforms}, '
                f'share_random_params={self.share_random_params})')
