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
