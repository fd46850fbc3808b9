"""STCN: golden values of kaylode/ivos, training, streaming, volume ranges.

Golden values: kaylode/ivos commit 276ee41 (source/semantic2D/models/stcn/
networks/network.py, eval_network.py, backbone/*, inference/
inference_core_efficient.py, inference_memory_bank_efficient.py, models/
stcn/__init__.py forward_train, losses/stcn_loss.py STCNLossV2) with
kaylode/theseus v1.0.1 (bea58f9) OhemCELoss(thresh=0.5) and LovaszSoftmax,
run on CPU by /tmp/stcn_orig/golden.py::

    cd /tmp/stcn_orig && PYTHONPATH=/tmp/stcn_orig:/tmp/stcn_orig/stubs \\
        python golden.py

(adaptations: stubs for theseus.utilities / torchvision, ``.cuda()``
removed; key backbone 'resnet50-mod', value 'resnet18-mod' as
configs/flare22v2/stcn/pipeline.yaml, no pretrained weights; every
parameter and buffer filled by name with ``fill_value``). Our model gets
the same weights through ``convert_stcn_checkpoint`` of the ivos layout.
"""
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmvidseg.models.converters import convert_stcn_checkpoint
from mmvidseg.models.utils import (pad_to_multiple, soft_aggregate,
                                   soft_aggregate_logits, unpad)
from mmvidseg.registry import MODELS

from .._stcn_fill import TINY_STCN, filled_state, layout_hash, original_shapes

GOLDEN = dict(
    ivos_keys=442,
    ivos_layout_sha1='21e3a8863cab59dd1f9dd3db945c020d97275fe9',
    logits_1_sum=[[-16026.66, 6694.774, 7045.634],
                  [-6232.349, 6232.349, -66019.74]],
    logits_1_abs=[[16273.45, 7783.078, 8002.375],
                  [6900.793, 6900.793, 66019.74]],
    logits_1_px=[[-6.104551, 2.893679, 3.115822],
                 [-0.7522668, 0.7522668, -16.1181]],
    logits_2_sum=[[-17470.77, 7620.771, 8055.407],
                  [-8375.779, 8375.779, -66019.74]],
    logits_2_abs=[[17494.23, 8171.017, 8555.425],
                  [8915.969, 8915.969, 66019.74]],
    logits_2_px=[[-4.675806, 2.05732, 2.422513],
                 [-2.570604, 2.570604, -16.1181]],
    loss_ohem=10.25256,
    loss_lovasz=1.508849,
    prob_sum=[[178.9929, 186.2789, 173.5357, 9802.611, 173.8882, 175.5441,
               188.8633, 177.1536],
              [2529.883, 2528.511, 2564.567, 4089.165, 2546.562, 2526.783,
               2514.1, 2517.503],
              [2490.473, 2487.262, 2480.827, 4284.766, 2494.055, 2496.546,
               2493.096, 2498.057],
              [2480.651, 2477.948, 2461.071, 4863.457, 2465.495, 2481.127,
               2483.942, 2487.287]],
    prob_sq=[[26.08975, 29.70571, 24.37393, 19772.54, 23.2641, 24.37692,
              30.21359, 24.32032],
             [836.0706, 835.5103, 859.3486, 4959.224, 847.0493, 833.85,
              826.0502, 827.6649],
             [809.8804, 808.1579, 803.4629, 5578.697, 811.9556, 813.7143,
              812.0826, 814.7197],
             [803.8254, 802.462, 791.205, 7089.929, 793.5659, 803.7839,
              806.1512, 807.7446]],
    prob_px=[[0.002238626, 0.0007578167, 0.0008901064, 0.001570937,
              0.0008153264, 0.00116701, 0.001323466, 0.001799456],
             [0.3424174, 0.343797, 0.3483489, 0.3463172, 0.3465382,
              0.3427389, 0.339581, 0.3405576],
             [0.3283988, 0.3280047, 0.3272506, 2.330457, 0.3314848,
              0.3316465, 0.3316959, 0.3310918],
             [0.3269452, 0.3274406, 0.3235105, 0.3216553, 0.3211618,
              0.3244477, 0.3273997, 0.3265513]],
)


def _close(actual, expected, rtol=1e-4, atol=1e-3):
    torch.testing.assert_close(
        actual.double(), torch.tensor(expected, dtype=torch.float64),
        rtol=rtol, atol=atol)


def train_inputs():
    """The seeded triplets of the golden run (N=2, T=3, 64x64)."""
    g = torch.Generator().manual_seed(0)
    frames = torch.rand(2, 3, 3, 64, 64, generator=g)
    labels = torch.zeros(2, 3, 64, 64, dtype=torch.long)
    for t in range(3):
        labels[0, t, 8 + 2 * t:30 + 2 * t, 10:34] = 1
        labels[0, t, 36:56, 30 + 3 * t:54 + 3 * t] = 2
        labels[1, t, 20:44, 16 + 4 * t:40 + 4 * t] = 1
    return frames, labels


def volume_inputs():
    """The seeded volume (8 slices, 72x88, padded to 80x96) and the
    reference mask of slice 3 (3 objects)."""
    g = torch.Generator().manual_seed(1)
    images = torch.rand(1, 8, 3, 72, 88, generator=g)
    ref = torch.zeros(72, 88, dtype=torch.long)
    ref[6:30, 8:40] = 1
    ref[36:66, 20:50] = 2
    ref[10:60, 60:84] = 3
    return images, ref


@pytest.fixture(scope='module')
def golden_model():
    model = MODELS.build(dict(type='STCN'))
    shapes = original_shapes(model, 'ivos')
    # the rebuilt ivos layout is the original's (names and shapes)
    assert len(shapes) == GOLDEN['ivos_keys']
    assert layout_hash(shapes) == GOLDEN['ivos_layout_sha1']
    state = convert_stcn_checkpoint(filled_state(shapes))

    def load():  # fresh weights and statistics for every test
        model.load_state_dict(state, strict=True)
        return model

    return load


def _samples(labels):
    out = []
    for lab in labels:
        s = SegDataSample()
        s.gt_clip_seg = PixelData(data=lab)
        out.append(s)
    return out


def test_training_forward_and_loss_match_the_original(golden_model):
    model = golden_model().train()  # batch statistics, as ivos trains
    frames, labels = train_inputs()
    # the original's objects: 1 and 2 in sample 0, only 1 in sample 1
    model.select_objects = lambda lab: (torch.tensor([[1, 2], [1, -1]]),
                                        torch.tensor([[1., 1.], [1., 0.]]))
    with torch.no_grad():
        logits = model.train_logits(
            frames, (labels == 1).float()[:, :, None],
            (labels == 2).float()[:, :, None],
            torch.tensor([[1., 1.], [1., 0.]]))
        losses = model.loss(frames, _samples(labels))
    del model.select_objects
    for i, lg in enumerate(logits, start=1):
        _close(lg.sum((2, 3)), GOLDEN[f'logits_{i}_sum'])
        _close(lg.abs().sum((2, 3)), GOLDEN[f'logits_{i}_abs'])
        _close(lg[:, :, 20, 30], GOLDEN[f'logits_{i}_px'])
    assert set(losses) == {'loss_ohem', 'loss_lovasz'}
    _close(losses['loss_ohem'], GOLDEN['loss_ohem'])
    _close(losses['loss_lovasz'], GOLDEN['loss_lovasz'])


def test_volume_ranges_match_inference_core_efficient(golden_model):
    model = golden_model().eval()
    images, ref = volume_inputs()
    frames, pad = pad_to_multiple(images[0], 16)
    ref, _ = pad_to_multiple(ref, 16)
    assert frames.shape[-2:] == (80, 96) and pad == (4, 4, 4, 4)
    acc = torch.zeros(4, 8, 80, 96)
    acc[0] = 1e-7  # the original's initial background
    for end in (8, 0):  # one forward, one backward range from slice 3
        model.propagate_range(frames, 3, end, ref, acc, num_objects=3,
                              mem_every=2, include_last=True)
    _close(acc.sum((2, 3)), GOLDEN['prob_sum'])
    _close(acc.pow(2).sum((2, 3)), GOLDEN['prob_sq'])
    _close(acc[:, :, 40, 30], GOLDEN['prob_px'], atol=1e-5)
    assert unpad(acc, pad).shape[-2:] == (72, 88)


# --------------------------------------------------------- tiny model tests
@pytest.fixture
def tiny():
    torch.manual_seed(0)
    return MODELS.build(TINY_STCN)


def test_object_selection_follows_the_first_slice(tiny):
    labels = torch.zeros(4, 3, 8, 8, dtype=torch.long)
    labels[0, 0, :2] = 5
    labels[0, 0, 4:] = 9
    labels[0, 1:] = 7  # classes of later slices are never chosen
    labels[1, 0, :3] = 4
    labels[1, 0, 3] = 255  # void is never an object
    labels[2, 1:] = 3  # empty first slice: no object
    labels[3, 0] = torch.arange(64).view(8, 8) % 4
    seen = set()
    for _ in range(30):
        ids, sel = tiny.select_objects(labels)
        assert set(ids[0].tolist()) == {5, 9}
        assert ids[1].tolist() == [4, -1] and sel[1].tolist() == [1., 0.]
        assert ids[2].tolist() == [-1, -1] and sel[2].tolist() == [1., 0.]
        assert ids[3, 0] != ids[3, 1] and set(ids[3].tolist()) <= {1, 2, 3}
        seen.add(tuple(ids[3].tolist()))
        assert sel[0].tolist() == [1., 1.]
    assert len(seen) == 6  # every ordered pair of {1, 2, 3}
    again = MODELS.build(TINY_STCN)  # same seed, same draws
    assert torch.equal(again.select_objects(labels)[0],
                       MODELS.build(TINY_STCN).select_objects(labels)[0])


def test_loss_backward_and_empty_first_slice(tiny):
    frames, labels = train_inputs()
    labels[1, 0] = 0  # sample 1: empty first slice -> all-zero masks
    losses = tiny.loss(frames, _samples(labels))
    assert set(losses) == {'loss_ohem', 'loss_lovasz'}
    total = sum(losses.values())
    assert torch.isfinite(total)
    total.backward()
    for name in ('key_proj.weight', 'value_encoder.fuser.block1.conv1.weight',
                 'decoder.pred.weight', 'key_encoder.conv1.weight'):
        assert tiny.get_parameter(name).grad.abs().sum() > 0, name
    with pytest.raises(KeyError, match='gt_clip_seg'):
        tiny.loss(frames, [SegDataSample(), SegDataSample()])
    with pytest.raises(ValueError, match='triplets'):
        tiny.loss(frames[:, :2], _samples(labels))


def _track(model):
    """Record (slice, action) of segment_frame / memorise calls; slices
    carry their index as value."""
    log = []
    seg, mem = model.segment_frame, model.memorise

    def segment_frame(frame, bank, n):
        log.append((int(frame[0, 0, 0, 0]), 'read', bank.num_frames))
        return seg(frame, bank, n)

    def memorise(frame, feats, prob, bank, kind):
        log.append((int(frame[0, 0, 0, 0]), kind))
        mem(frame, feats, prob, bank, kind)
        log.append(('bank', [e.kind for e in bank.entries]))
        banks.append(bank)

    banks = []
    model.segment_frame, model.memorise = segment_frame, memorise
    return log, banks


def test_propagate_range_visits_and_memory(tiny):
    model = tiny.eval()
    frames = torch.arange(8.).view(8, 1, 1, 1).expand(8, 3, 32, 48).clone()
    ref = torch.zeros(32, 48, dtype=torch.long)
    ref[4:20, 4:30] = 2
    acc = torch.zeros(3, 8, 32, 48, dtype=torch.float64)
    log, banks = _track(model)
    model.propagate_range(frames, 3, 8, ref, acc, num_objects=2,
                          mem_every=2, storage_device='cpu')
    reads = [e[0] for e in log if e[1] == 'read']
    assert reads == [4, 5, 6, 7]  # forward: start+1 .. end-1
    writes = [e[:2] for e in log if e[0] != 'bank' and e[1] != 'read']
    assert writes == [(3, 'permanent'), (4, 'working'), (5, 'temporary'),
                      (6, 'working')]  # 7 is the last: not encoded
    # a working write drops the temporary entry
    assert [e for e in log if e[0] == 'bank'][-1] == (
        'bank', ['permanent', 'working', 'working'])
    assert banks[0].storage_device == torch.device('cpu')
    assert banks[0].num_frames == 0  # flushed after the range
    # every visited slice (and the reference) sums to ~1 per pixel
    sums = acc.sum(0).mean((1, 2))
    torch.testing.assert_close(
        sums, torch.tensor([0, 0, 0, 1, 1, 1, 1, 1.], dtype=torch.float64))
    # the reference's aggregated one-hot: object 2 where given
    assert (acc[2, 3, 4:20, 4:30] > 0.999).all() and acc[1, 3].max() < 1e-6
    log.clear()
    model.propagate_range(frames, 3, 0, ref, acc, num_objects=2,
                          mem_every=2, include_last=True)
    reads = [e[0] for e in log if e[1] == 'read']
    assert reads == [3, 2, 1, 0]  # backward: start .. end, reference too
    writes = [e[:2] for e in log if e[0] != 'bank' and e[1] != 'read']
    # the original's "end" of a backward pass is end + 1 (slice 1)
    assert writes == [(3, 'permanent'), (3, 'temporary'), (2, 'working'),
                      (0, 'working')]
    torch.testing.assert_close(acc.sum(0).mean((1, 2))[:4], torch.tensor(
        [1, 1, 1, 3.], dtype=torch.float64))
    # include_last=False: only the mem_every slices are stored
    log.clear()
    model.propagate_range(frames, 3, 8, ref, acc, num_objects=2,
                          mem_every=2, include_last=False)
    assert [e[:2] for e in log if e[0] != 'bank' and e[1] != 'read'] == [
        (3, 'permanent'), (4, 'working'), (6, 'working')]


def test_propagate_range_bounded_memory_and_errors(tiny):
    model = tiny.eval()
    frames = torch.randn(12, 3, 32, 32)
    ref = torch.zeros(32, 32, dtype=torch.long)
    ref[8:24, 8:24] = 1
    acc = torch.zeros(2, 12, 32, 32)
    log, banks = _track(model)
    model.propagate_range(frames, 0, 12, ref, acc, num_objects=1,
                          mem_every=1, max_frames=3)
    sizes = [e[2] for e in log if e[1] == 'read']
    assert max(sizes) == 4  # the reference + at most 3 working entries
    kinds = [e[1] for e in log if e[0] == 'bank']
    assert all(k[0] == 'permanent' for k in kinds)
    with pytest.raises(ValueError, match='multiples of 16'):
        model.propagate_range(frames[..., :30], 0, 5, ref[:, :30],
                              acc[..., :30], num_objects=1)
    with pytest.raises(ValueError, match='acc must be'):
        model.propagate_range(frames, 0, 5, ref, acc[:1], num_objects=1)
    with pytest.raises(ValueError, match='ref_mask ids'):
        model.propagate_range(frames, 0, 5, ref * 2, acc, num_objects=1)
    with pytest.raises(ValueError, match='bad range'):
        model.propagate_range(frames, 12, 5, ref, acc, num_objects=1)


def _frame_sample(t, ori, given=None, video='v'):
    s = SegDataSample(metainfo=dict(video_id=video, frame_id=t,
                                    ori_shape=ori))
    if given is not None:
        s.given_sem_seg = PixelData(data=given[None])
    return s


def test_streaming_predict_bounded_memory(tiny):
    model = tiny.eval()
    model.test_cfg.update(mem_every=2, max_frames=2)
    given = torch.zeros(44, 60, dtype=torch.long)
    given[4:20, 4:30] = 7
    given[24:40, 30:56] = 3
    given[0, 0] = 255  # void stays void in the output of a given frame
    sizes = []
    for t in range(12):
        x = torch.randn(1, 1, 3, 44, 60)
        out = model.predict(x, [_frame_sample(
            t, (44, 60), given if t in (0, 9) else None)])[0]
        pred, prob = out.pred_sem_seg.data, out.seg_logits.data
        assert pred.shape == (1, 44, 60) and prob.shape[-2:] == (44, 60)
        if t in (0, 9):
            assert torch.equal(pred[0], given)
        assert set(pred.unique().tolist()) <= {0, 3, 7, 255}
        torch.testing.assert_close(prob.sum(0), torch.ones(44, 60))
        sizes.append([e.kind for e in model._bank.entries])
    assert model._ids.tolist() == [3, 7]
    assert sizes[0] == ['permanent']
    assert sizes[1] == ['permanent', 'temporary']
    assert sizes[2] == ['permanent', 'working']
    # at most max_frames working entries; frame 9 (given) is permanent
    assert all(k.count('working') <= 2 for k in sizes)
    assert sizes[-1].count('permanent') == 2
    # a new video starts a new memory
    model.predict(torch.randn(1, 3, 44, 60),
                  [_frame_sample(0, (44, 60), given, video='w')])
    assert [e.kind for e in model._bank.entries] == ['permanent']


def test_streaming_new_objects_and_resized_frames(tiny):
    model = tiny.eval()
    first = torch.zeros(40, 50, dtype=torch.long)
    first[5:20, 5:20] = 1
    model.predict(torch.randn(1, 3, 32, 32), [_frame_sample(0, (40, 50),
                                                            first)])
    later = first.clone()
    later[25:35, 30:45] = 4  # appears at frame 2
    model.predict(torch.randn(1, 3, 32, 32), [_frame_sample(1, (40, 50))])
    out = model.predict(torch.randn(1, 3, 32, 32),
                        [_frame_sample(2, (40, 50), later)])[0]
    assert torch.equal(out.pred_sem_seg.data[0], later)
    assert model._ids.tolist() == [1, 4]
    value_width = {e.values[0].size(-1) for e in model._bank.entries}
    assert value_width == {2 * model.value_dim}  # older entries padded
    out = model.predict(torch.randn(1, 3, 32, 32),
                        [_frame_sample(3, (40, 50))])[0]
    assert out.seg_logits.data.shape == (3, 40, 50)
    with pytest.raises(KeyError, match='gt_sem_seg'):
        model.predict(torch.randn(1, 3, 32, 32),
                      [_frame_sample(0, (32, 32), video='x')])
    with pytest.raises(ValueError, match='batch 1'):
        model.predict(torch.randn(2, 3, 32, 32), [None, None])


def test_modes_and_config_errors(tiny):
    feats = tiny(torch.randn(1, 2, 3, 32, 32), mode='tensor')
    assert feats.shape == (2, 8, 2, 2)
    with pytest.raises(RuntimeError, match='invalid mode'):
        tiny(torch.randn(1, 3, 32, 32), mode='bad')
    with pytest.raises(KeyError, match='test_cfg'):
        MODELS.build(dict(TINY_STCN, test_cfg=dict(top_k=20)))


def test_padding_and_soft_aggregation():
    x = torch.arange(70 * 81.).view(1, 70, 81)
    padded, pad = pad_to_multiple(x, 16)
    # STM's pad_divide_by: floor(d / 2) before, the rest after
    assert padded.shape == (1, 80, 96) and pad == (7, 8, 5, 5)
    assert torch.equal(unpad(padded, pad), x)
    assert pad_to_multiple(padded, 16)[1] == (0, 0, 0, 0)
    prob = torch.tensor([[0., 1., 0.25], [0.5, 0., 0.5]])
    logits = soft_aggregate_logits(prob.half())  # float32 under AMP
    assert logits.dtype == torch.float32 and torch.isfinite(logits).all()
    # bg = prod(1 - p), clamped to [1e-7, 1 - 1e-7], log-odds
    expected = torch.tensor([0.5, 1e-7, 0.375]).clamp(1e-7, 1 - 1e-7)
    torch.testing.assert_close(logits[0], torch.log(expected /
                                                    (1 - expected)))
    agg = soft_aggregate(prob)
    torch.testing.assert_close(agg.sum(0), torch.ones(3))
    torch.testing.assert_close(soft_aggregate(prob, keep_bg=False), agg[1:])
