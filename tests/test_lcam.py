"L-CAM against the explainer contract, and the training guarantees of issue 5, on a small CNN."
import pytest, torch
from xai_repro.explain import explain
from xai_repro.lcam import LCAM, LCAMLoss, train_lcam

from conftest import model_state as state

@pytest.mark.parametrize('variant', ['fm', 'img'])
def test_contract_and_training(cnn, variant):
    x = torch.rand(8, 3, 32, 32)
    before, xc = state(cnn), x.clone()
    with torch.no_grad(): cnn.eval(); ref = cnn(x)
    cnn.inner.layer1.train(); cnn.inner.fc.weight.requires_grad_(False)
    lc = LCAM(cnn, 'layer4', variant, size=32)
    w0 = [p.detach().clone() for p in cnn.parameters()]
    train_lcam(lc, x, epochs=1, lr=1e-2, bs=4, schedule='one_cycle')
    assert all(torch.equal(a, b) for a, b in zip(w0, cnn.parameters())), 'the frozen network changed'
    assert all(p.grad is None for p in cnn.parameters())
    sal = explain(lc, x[:2], 'lcam', target=[1, 2])
    assert sal.shape == (2, 32, 32) and sal.min() >= 0 and sal.max() <= 1 and torch.isfinite(sal).all()
    assert state(cnn) == before, 'model mode, requires_grad or hooks changed'
    assert torch.equal(x, xc), 'input modified'
    with torch.no_grad():
        cnn.eval(); assert torch.allclose(cnn(x), ref, atol=1e-6)
    cnn.inner.layer1.train()

def test_bad_input(cnn):
    lc = LCAM(cnn, size=32)
    x = torch.rand(2, 3, 32, 32)
    with pytest.raises(ValueError, match='3 targets for 2 images'): lc.explain(x, [1, 2, 3])
    with pytest.raises(ValueError, match='out of range'): lc.explain(x, 10)
    bad = x.clone(); bad[0, 0, 0, 0] = float('nan')
    with pytest.raises(ValueError, match='non-finite'): lc.explain(bad)
    with pytest.raises(ValueError, match='non-finite'): lc(bad)
    with pytest.raises(ValueError, match='4 dims'): lc.explain(x[0])
    with pytest.raises(ValueError, match='out of range'): lc(x, [0, 11])
    with pytest.raises(ValueError, match='unknown layer'): LCAM(cnn, 'layer9', size=32)
    with pytest.raises(ValueError, match='schedule'): train_lcam(lc, x, schedule='cosine')
