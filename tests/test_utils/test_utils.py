import io
import os

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import HistoryBuffer

from mmvidseg.utils import (atomic_imwrite, atomic_write_bytes,
                            check_config_keys, collect_env)


def test_collect_env_reports_stack():
    env = collect_env()
    for key in ('PyTorch', 'MMCV', 'MMCV ops compiled', 'MMSegmentation',
                'MMDetection', 'mmvidseg'):
        assert key in env
    assert env['MMCV ops compiled'] == 'True'


def test_check_config_keys():
    check_config_keys(Config(dict(model=1, test_pipeline=[], crop_size=1,
                                  my_helper=3)))
    with pytest.raises(KeyError, match="'optim_wraper'.*'optim_wrapper'"):
        check_config_keys(Config(dict(optim_wraper=1)))
    with pytest.raises(KeyError, match="'val_evalutor'"):
        check_config_keys(Config(dict(val_evalutor=1)))


def test_checkpoint_safe_load_of_mmengine_objects():
    buf = HistoryBuffer()
    buf.update(1.5)
    data = io.BytesIO()
    torch.save(dict(message_hub=dict(b=buf), state_dict={}), data)
    data.seek(0)
    loaded = torch.load(data, weights_only=True)
    assert loaded['message_hub']['b'].mean() == 1.5


class _Sneaky:
    """Pickles as getattr(HistoryBuffer, '__subclasses__') ()."""

    def __reduce__(self):
        return (getattr, (HistoryBuffer, '__subclasses__'))


def test_checkpoint_getattr_stays_restricted():
    data = io.BytesIO()
    torch.save(dict(x=_Sneaky()), data)
    data.seek(0)
    with pytest.raises(Exception, match='refusing getattr'):
        torch.load(data, weights_only=True)


def test_atomic_writes(tmp_path):
    path = tmp_path / 'a' / 'b.bin'
    atomic_write_bytes(str(path), b'123')
    assert path.read_bytes() == b'123'
    assert oct(path.stat().st_mode & 0o777) != oct(0o600)
    import numpy as np
    with pytest.raises(ValueError, match='cannot encode'):
        atomic_imwrite(str(tmp_path / 'x.png'), np.zeros((2, 2, 7)))
    assert os.listdir(tmp_path) == ['a']  # no temporary file left behind


def test_version_check_warns_outside_matrix(monkeypatch):
    from mmvidseg.utils import set_env
    monkeypatch.setitem(set_env.TESTED_MATRIX, 'torch', ('0.1', '0.2'))
    with pytest.warns(UserWarning, match='0.1 <= torch < 0.2'):
        set_env.check_versions()
