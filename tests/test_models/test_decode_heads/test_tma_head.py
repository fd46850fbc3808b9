import pytest
import torch

from mmvidseg.models import TMAHead


def _head(**kw):
    cfg = dict(num_memory_frames=2, key_channels=8, value_channels=16,
               in_channels=32, in_index=0, channels=24, num_classes=5,
               dropout_ratio=0.0, norm_cfg=dict(type='BN'))
    cfg.update(kw)
    torch.manual_seed(0)
    return TMAHead(**cfg)


def test_shapes_and_gradients():
    head = _head()
    x = torch.randn(2, 3, 32, 6, 7, requires_grad=True)
    out = head([x])
    assert out.shape == (2, 5, 6, 7)
    out.sum().backward()
    # every slot's embedding and the query stacks get gradients
    for slot in range(2):
        for convs in (head.memory_key_convs, head.memory_value_convs):
            assert convs[slot][0].conv.weight.grad.abs().sum() > 0
    assert head.query_key_conv[1].conv.weight.grad.abs().sum() > 0
    # the memory frames receive gradients too (backbone is trained on them)
    assert x.grad[:, 0].abs().sum() > 0 and x.grad[:, 1].abs().sum() > 0


def test_parameter_layout():
    head = _head()
    names = {k for k, _ in head.named_parameters()}
    assert 'memory_key_convs.1.0.conv.weight' in names
    assert 'memory_value_convs.0.1.conv.weight' in names
    assert head.memory_key_convs[0][0].conv.kernel_size == (1, 1)
    assert head.memory_key_convs[0][1].conv.kernel_size == (3, 3)
    assert head.bottleneck.conv.in_channels == 32  # 2 * Cv


def _plain_read(m_keys, m_values, q_key, scale):
    n, t, ck, h, w = m_keys.shape
    keys = m_keys.permute(0, 2, 1, 3, 4).reshape(n, ck, t * h * w)
    query = q_key.reshape(n, ck, h * w).transpose(1, 2)
    attn = torch.softmax(scale * torch.bmm(query, keys), -1)
    values = m_values.permute(0, 2, 1, 3, 4).reshape(n, -1, t * h * w)
    return torch.bmm(attn, values.transpose(1, 2)).transpose(1, 2).reshape(
        n, -1, h, w)


@pytest.mark.parametrize('matmul_norm', [False, True])
def test_sdpa_read_equals_plain_formula(matmul_norm):
    head = _head(matmul_norm=matmul_norm).double()
    g = torch.Generator().manual_seed(1)
    m_keys = torch.randn(2, 2, 8, 5, 6, generator=g, dtype=torch.float64)
    m_values = torch.randn(2, 2, 16, 5, 6, generator=g, dtype=torch.float64)
    q_key = torch.randn(2, 8, 5, 6, generator=g, dtype=torch.float64)
    scale = 8 ** -0.5 if matmul_norm else 1.0
    assert torch.allclose(head.read(m_keys, m_values, q_key),
                          _plain_read(m_keys, m_values, q_key, scale),
                          atol=1e-10)


def test_unscaled_by_default_differs_from_scaled():
    a, b = _head(), _head(matmul_norm=True)
    b.load_state_dict(a.state_dict())
    x = torch.randn(1, 3, 32, 4, 4)
    a.eval(), b.eval()
    assert not torch.allclose(a([x]), b([x]))


def test_wrong_number_of_frames():
    with pytest.raises(ValueError, match=r'expects \(N, 3, C, h, w\)'):
        _head()([torch.randn(1, 4, 32, 4, 4)])
    with pytest.raises(ValueError, match='num_memory_frames'):
        _head(num_memory_frames=0)


def _sharp_clip(head, max_logit=1400.0):
    """Clip features whose unscaled key-frame logits peak at ``max_logit``
    (eval-mode embeddings are positively homogeneous: scaling the features
    by s scales the logits by s^2)."""
    g = torch.Generator().manual_seed(1)
    x = torch.randn(1, 3, head.in_channels, 8, 8, generator=g)
    with torch.no_grad():
        m_keys, _, q_key, _ = head.embed(x)
        peak = torch.einsum('nchw,ntcij->nhwtij', q_key, m_keys).max()
    return x * (max_logit / peak).sqrt()


def _amp_head(**kw):
    cfg = dict(key_channels=64, value_channels=64, in_channels=64,
               channels=32)
    cfg.update(kw)
    return _head(**cfg).eval()


@pytest.mark.parametrize('dtype,tol', [(torch.bfloat16, 0.2),
                                       (torch.float16, 0.04)])
def test_autocast_sharp_attention_close_to_fp32(dtype, tol):
    """Unscaled logits of about 1400: keys rounded to bfloat16 move them by
    up to ~3. With the key embeddings and the read in float32 the output
    (|max| ~19) is within 0.11 (bf16) / 0.012 (fp16) of fp32 and the input
    gradient within 0.5% / 0.1%; in low precision: 0.81 / 0.27 and
    23% / 6%."""
    head = _amp_head()
    x = _sharp_clip(head)
    w = torch.randn(1, 5, 8, 8, generator=torch.Generator().manual_seed(2))
    x_ref = x.clone().requires_grad_()
    ref = head([x_ref])
    (ref * w).sum().backward()
    x_amp = x.clone().requires_grad_()
    try:
        with torch.autocast('cpu', dtype=dtype):
            out = head([x_amp])
    except RuntimeError as e:  # an op without a CPU kernel for dtype
        pytest.skip(f'{dtype} autocast not supported on this CPU: {e}')
    (out.float() * w).sum().backward()
    assert out.dtype == dtype  # the classifier still runs in low precision
    assert torch.isfinite(out).all() and torch.isfinite(x_amp.grad).all()
    assert (out.float() - ref).abs().max() < tol
    grad_err = (x_amp.grad - x_ref.grad).abs().max() / x_ref.grad.abs().max()
    assert grad_err < 0.05


def test_autocast_low_precision_attention_option():
    """``fp32_attention=False`` keeps autocast's low-precision keys (the
    old behaviour): far from fp32 on sharp logits."""
    head = _amp_head(fp32_attention=False)
    x = _sharp_clip(head)
    ref = head([x])
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = head([x])
    assert (out.float() - ref).abs().max() > 0.5


def test_fp32_attention_is_a_no_op_without_autocast():
    a, b = _amp_head(), _amp_head(fp32_attention=False)
    x = _sharp_clip(a)
    assert torch.equal(a([x]), b([x]))
    m_keys, m_values, q_key, _ = a.embed(x)
    assert m_keys.dtype == torch.float32
    assert torch.equal(a.read(m_keys, m_values, q_key),
                       b.read(m_keys, m_values, q_key))
    # float64 heads stay float64
    a.double()
    assert a([x.double()]).dtype == torch.float64


@pytest.mark.parametrize('max_logit', [1400.0, 1e5])
def test_float16_read_finite_and_close(max_logit):
    """The attention block under float16 autocast, at TMANet's logits and
    beyond the float16 range (65504): finite and close to float32 (the
    read runs in float32; fp16 inputs gave errors of ~0.2 at 1400)."""
    head = _amp_head()
    x = _sharp_clip(head, max_logit)
    with torch.no_grad():
        m_keys, m_values, q_key, _ = head.embed(x)
        ref = head.read(m_keys, m_values, q_key)
        with torch.autocast('cpu', dtype=torch.float16):
            try:
                out = head.read(m_keys, m_values, q_key)
            except RuntimeError as e:
                pytest.skip(f'float16 attention not supported here: {e}')
    assert torch.isfinite(out).all()
    assert (out.float() - ref).abs().max() < 1e-3 * ref.abs().max()
