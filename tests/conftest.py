import os
# Tests never wait on the network: weights and datasets must come from disk.
os.environ.setdefault('HF_HUB_OFFLINE', '1')
os.environ.setdefault('XAI_REPRO_OFFLINE', '1')
os.environ.setdefault('MPLBACKEND', 'Agg')
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent

@pytest.fixture(scope='session')
def root(): return ROOT


def model_state(m):
    "Every module's training flag, every parameter's requires_grad, and the number of hooks: what an explainer must give back."
    hooks = sum(len(x._forward_hooks) + len(x._forward_pre_hooks) + len(x._backward_hooks) + len(x._backward_pre_hooks) for x in m.modules())
    return [x.training for x in m.modules()], [p.requires_grad for p in m.parameters()], hooks

@pytest.fixture(scope='module')
def cnn():
    "A small ResNet in mixed modes and partly frozen: explainers and trainers must give it back exactly so."
    from xai_repro.core import set_seed
    from xai_repro.models import load_model
    set_seed(0)
    m = load_model('resnet18_small', num_classes=10, width=8)
    m.inner.layer1.train()                     # a mixed-mode model
    m.inner.fc.weight.requires_grad_(False)    # a partly frozen model
    return m
