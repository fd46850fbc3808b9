"""Turn a frame item into a clip of frames with a sampling policy."""
from typing import Union

from mmcv.transforms import BaseTransform

from mmvidseg.registry import TASK_UTILS, TRANSFORMS

from ..clip_policies import BaseClipPolicy


@TRANSFORMS.register_module()
class SampleClip(BaseTransform):
    """Choose the frames of a clip around the item's key frame.

    Required keys: ``video_id``, ``frame_id``, ``video_img_paths`` and
    ``video_seg_map_paths`` (attached by :class:`BaseVideoDataset`).

    Added keys: ``img_path`` and ``seg_map_path`` (lists, oldest first),
    ``frame_ids`` and ``key_index``. The per-video tables are removed from the
    results afterwards.

    Args:
        policy (dict | BaseClipPolicy): A clip policy, e.g.
            ``dict(type='FixedOffsetClipPolicy', offsets=(-2, -1))``.
    """

    def __init__(self, policy: Union[dict, BaseClipPolicy]) -> None:
        if isinstance(policy, dict):
            policy = TASK_UTILS.build(policy)
        if not isinstance(policy, BaseClipPolicy):
            raise TypeError(f'policy must be a clip policy, got {policy!r}')
        self.policy = policy

    def transform(self, results: dict) -> dict:
        for key in ('video_img_paths', 'frame_id'):
            if key not in results:
                raise KeyError(
                    f'SampleClip needs {key!r} in the results; use it with a '
                    'video dataset (BaseVideoDataset) or give the frame table')
        imgs = results.pop('video_img_paths')
        segs = results.pop('video_seg_map_paths', None)
        labelled = None if segs is None else [s is not None for s in segs]
        frame_ids, key_index = self.policy(results['frame_id'], len(imgs),
                                           labelled)
        results['frame_ids'] = list(frame_ids)
        results['key_index'] = key_index
        results['img_path'] = [imgs[i] for i in frame_ids]
        results['seg_map_path'] = (None if segs is None else
                                   [segs[i] for i in frame_ids])
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(policy={self.policy!r})'
