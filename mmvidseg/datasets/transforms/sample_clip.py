"""Turn a frame item into a clip of frames with a sampling policy."""
from typing import List, Tuple, Union

from mmcv.transforms import BaseTransform

from mmvidseg.registry import TASK_UTILS, TRANSFORMS

from ..clip_policies import BaseClipPolicy, MissingFrameError


@TRANSFORMS.register_module()
class SampleClip(BaseTransform):
    """Choose the frames of a clip around the item's key frame.

    Required keys: ``video_id``, ``frame_id``, ``video_img_paths`` and
    ``video_seg_map_paths`` (attached by :class:`BaseVideoDataset`).
    Optional keys (video table columns): ``video_frame_numbers`` (passed to
    the policy, which may pick frames by number), ``video_key_img_paths``
    (the image read at the key frame's position, e.g. CamVid's
    ``images/<name>.png``, while reference frames come from
    ``video_img_paths``) and ``video_frame_path_fmt`` (names a missing
    frame).

    Added keys: ``img_path`` and ``seg_map_path`` (lists, oldest first),
    ``frame_ids``, ``key_index``, ``clip_bounds`` (the policy's clips as
    ``(start, stop)`` positions, e.g. ``[(0, 4), (4, 8)]`` for a clip and its
    shifted copy) and ``supervised`` (per frame: labelled and in a supervised
    clip). The per-video tables are removed from the results afterwards.

    Args:
        policy (dict | BaseClipPolicy): A clip policy, e.g.
            ``dict(type='FixedOffsetClipPolicy', offsets=(-2, -1))``.

    Raises:
        FileNotFoundError: The policy needs a frame number that is not in the
            video (:class:`MissingFrameError`, naming the missing file).
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
        numbers = results.pop('video_frame_numbers', None)
        key_imgs = results.pop('video_key_img_paths', None)
        path_fmt = results.pop('video_frame_path_fmt', None)
        labelled = None if segs is None else [s is not None for s in segs]
        try:
            frame_ids, key_index = self.policy(
                results['frame_id'], len(imgs), labelled,
                frame_numbers=numbers)
        except MissingFrameError as e:
            n = e.frame_number
            what = (f'frame {path_fmt.format(n)!r} (number {n})'
                    if path_fmt else f'frame number {n}')
            raise MissingFrameError(
                n, e.key_number,
                f'video {results.get("video_id")!r}: {what}, a reference '
                f'frame of key frame {imgs[results["frame_id"]]!r}, does '
                f'not exist ({type(self.policy).__name__} with '
                "missing_frames='nearest' takes the nearest frame)"
            ) from None
        bounds = self._clip_bounds(len(frame_ids))
        clip_sup = self.policy.supervised_clips
        supervised = [False] * len(frame_ids)
        for (start, stop), sup in zip(bounds, clip_sup):
            for t in range(start, stop):
                supervised[t] = bool(sup) and labelled is not None and \
                    labelled[frame_ids[t]]
        results['frame_ids'] = list(frame_ids)
        results['key_index'] = key_index
        results['clip_bounds'] = bounds
        results['supervised'] = supervised
        results['img_path'] = [imgs[i] for i in frame_ids]
        key_frame = frame_ids[key_index]
        if key_imgs is not None and key_imgs[key_frame] is not None:
            results['img_path'][key_index] = key_imgs[key_frame]
        results['seg_map_path'] = (None if segs is None else
                                   [segs[i] for i in frame_ids])
        return results

    def _clip_bounds(self, num: int) -> List[Tuple[int, int]]:
        """The policy's clip boundaries, checked against the sample."""
        bounds = [(int(a), int(b)) for a, b in self.policy.clip_bounds]
        stops = [0] + [b for _, b in bounds]
        if (not bounds or [a for a, _ in bounds] != stops[:-1]
                or any(b <= a for a, b in bounds) or stops[-1] != num):
            raise ValueError(
                f'{type(self.policy).__name__}.clip_bounds {bounds} do not '
                f'tile the {num} sampled frames into consecutive clips')
        if len(self.policy.supervised_clips) != len(bounds):
            raise ValueError(
                f'{type(self.policy).__name__}.supervised_clips has '
                f'{len(self.policy.supervised_clips)} entries for '
                f'{len(bounds)} clips')
        return bounds

    def __repr__(self) -> str:
        return f'{type(self).__name__}(policy={self.policy!r})'
