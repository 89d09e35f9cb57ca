"Every registered explainer against the explainer contract (DESIGN.md), on a small CNN and a tiny ViT."
import pytest, torch, torch.nn as nn
from xai_repro.core import set_seed
from xai_repro.explain import METHODS, load_all, get_method
from xai_repro.models import load_model, with_normalization

load_all()
VIT_ONLY = {'rawattention', 'rollout', 'transformer-attribution', 'chefer2021b'}
FAST = {'rise': dict(N=64), 'extremal': dict(steps=5, areas=(0.1,)), 'smoothgrad': dict(n=3),
        'integratedgradients': dict(steps=4), 'scorecam': dict(batch_size=64), 'ablationcam': dict(batch_size=64),
        'opticam': dict(max_iter=5)}
# every explainer that needs no training of its own: the shared ones and the papers' post-hoc methods
SHARED = [m for m, c in METHODS.items() if c.__module__.split('.')[-1] in ('cam', 'gradient', 'perturb', 'attention', 'opticam', 'lrp', 'agf')]

@pytest.fixture(scope='module')
def vit():
    import timm
    set_seed(0)
    return with_normalization(timm.create_model('vit_tiny_patch16_224', num_classes=10, depth=2)).eval()

from conftest import model_state as state

def subject(name, cnn, vit):
    return (vit, torch.rand(2, 3, 224, 224)) if name in VIT_ONLY else (cnn, torch.rand(2, 3, 32, 32))

@pytest.mark.parametrize('name', SHARED)
def test_contract(name, cnn, vit):
    model, x = subject(name, cnn, vit)
    before, xc = state(model), x.clone()
    e = get_method(name)(model, **FAST.get(name, {}))
    sal = e(x, [1, 2])
    assert sal.shape == (2, *x.shape[-2:]) and sal.dtype == torch.float32 and sal.device == x.device
    assert torch.isfinite(sal).all()
    if e.signed: assert sal.abs().max() <= 1 + 1e-6
    else: assert sal.min() >= 0 and sal.max() <= 1 + 1e-6
    assert state(model) == before, 'model mode, requires_grad or hooks changed'
    assert torch.equal(x, xc), 'input modified'
    assert all(p.grad is None for p in model.parameters())

@pytest.mark.parametrize('name', SHARED)
def test_bad_input(name, cnn, vit):
    model, x = subject(name, cnn, vit)
    e = get_method(name)(model, **FAST.get(name, {}))
    with pytest.raises(ValueError, match='3 targets for 2 images'): e(x, [1, 2, 3])
    with pytest.raises(ValueError, match='out of range'): e(x, 10)
    bad = x.clone(); bad[0, 0, 0, 0] = float('nan')
    with pytest.raises(ValueError, match='non-finite'): e(bad)
    with pytest.raises(ValueError, match='4 dims'): e(x[0])
    with pytest.raises(ValueError, match='channels'): e(x[:, :1])
    with pytest.raises(ValueError, match='empty batch'): e(x[:0])
    with pytest.raises(TypeError, match='one int per image'): e(x, 'cat')
    with pytest.raises(TypeError, match='integer class indices'): e(x, 1.5)

@pytest.mark.parametrize('name', [m for m in SHARED if m != 'fakecam'])  # Fake-CAM never runs the model
@pytest.mark.parametrize('fail_at', [1, 2])
def test_restored_after_error(name, fail_at, cnn, vit):
    model, x = subject(name, cnn, vit)
    before = state(model)
    class Boom(Exception): pass
    calls = {'n': 0}
    def boom(m, i, o):
        calls['n'] += 1
        if calls['n'] >= fail_at: raise Boom('raised inside the forward pass')
    # on a layer: explainers that run the model through a traced graph (LRP, AGF) call its layers, not its wrapper
    h = (model.inner.head if name in VIT_ONLY else model.inner.fc).register_forward_hook(boom)
    try:
        e = get_method(name)(model, **FAST.get(name, {}))
        if fail_at == 1:
            with pytest.raises(Boom): e(x, 1)
        else:
            try: e(x, 1)  # methods with a single forward pass finish; the others fail in a later one
            except Boom: pass
    finally: h.remove()
    assert state(model) == before

@pytest.mark.parametrize('name', [m for m in SHARED if m not in VIT_ONLY and m != 'fakecam'])
def test_constant_image_gives_finite_maps(name, cnn):
    sal = get_method(name)(cnn, **FAST.get(name, {}))(torch.full((1, 3, 32, 32), 0.5), 0)
    assert torch.isfinite(sal).all()

def test_unknown_method_and_layer(cnn):
    from xai_repro.explain import explain
    x = torch.rand(1, 3, 32, 32)
    with pytest.raises(ValueError, match='unknown method'): explain(cnn, x, 'gradcan')
    with pytest.raises(ValueError, match="unknown layer 'layer5'"): explain(cnn, x, 'gradcam', layer='layer5')

def test_tuple_and_dict_outputs(cnn):
    from xai_repro.explain import explain
    class TupleOut(nn.Module):
        def __init__(self, m): super().__init__(); self.inner = m
        def forward(self, x): return {'logits': self.inner(x), 'aux': 0}
    x = torch.rand(2, 3, 32, 32)
    torch.testing.assert_close(explain(TupleOut(cnn), x, 'gradcam', 3), explain(cnn, x, 'gradcam', 3))

def test_constructor_arguments_checked():
    "Training-time methods reject bad numbers when built, naming the argument; NumPy and 0-d tensor numbers are numbers."
    import numpy as np
    from xai_repro.graddenoise import GradDenoiseCallback
    from xai_repro.disentangle import DisentangleCallback
    from xai_repro.antehoc import AnteHocCallback, soft_attention
    from xai_repro.lcam import LCAMLoss
    assert GradDenoiseCallback(lam=np.float32(.1)).lam == np.float32(.1)
    assert DisentangleCallback(lam=torch.tensor(.5)).lam == .5
    for kw, msg in [(dict(n_out=0), 'n_out'), (dict(lr=-1), 'lr must be'), (dict(wd=-1), 'wd must be'), (dict(lam=True), 'lam must be')]:
        with pytest.raises(ValueError, match=msg): DisentangleCallback(**kw)
    with pytest.raises(ValueError, match='lr must be'): AnteHocCallback(lr=None)
    with pytest.raises(TypeError, match='pred must be a function'): AnteHocCallback(pred=5)
    with pytest.raises(ValueError, match='tau must be'): soft_attention(torch.rand(1, 2, 3, 3), tau=0)
    with pytest.raises(ValueError, match='l1 must be'): LCAMLoss(l1=-1)
    with pytest.raises(ValueError, match='l3 must be'): LCAMLoss(l3=float('nan'))
    with pytest.raises(ValueError, match='eps must be'): LCAMLoss(eps=-1)
