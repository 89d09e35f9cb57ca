"The interpretable-gradient regularizer across networks and training loops: the model is given back as it came, the regularizer trains."
import pytest, torch, torch.nn as nn, torch.nn.functional as F, torchvision
from xai_repro.graddenoise import interpretable_grad_loss, GradDenoiseCallback, ERRORS, grad_error, mobilenet_v2_small
from xai_repro.gradient import standard_and_guided_grads
from xai_repro.data import SynthDataset, fit_learner, synth_shapes
from xai_repro.models import load_model
from conftest import model_state

NETS = {'resnet18_small': lambda: load_model('resnet18_small', num_classes=10, width=8, eval=False),
        'mobilenet_v2 (ReLU6 in place)': lambda: torchvision.models.mobilenet_v2(num_classes=10, width_mult=0.25).train(),
        'mobilenet_v2_small': lambda: mobilenet_v2_small(10, 0.25).train(),
        'vgg_small (ReLU in place)': lambda: load_model('vgg_small', num_classes=10, widths=(8, 16), eval=False)}

@pytest.mark.parametrize('name', list(NETS))
@pytest.mark.parametrize('error', ERRORS)
def test_loss_on_every_network(name, error):
    torch.manual_seed(0)
    net = NETS[name]()
    next(m for m in net.modules() if isinstance(m, nn.BatchNorm2d)).eval()  # a mixed-mode model: given back mixed
    before = model_state(net)
    x, y = torch.rand(3, 3, 32, 32), torch.tensor([1, 2, 3])
    out = interpretable_grad_loss(net, x, y, lam=0.5, error=error)
    out.loss.backward()
    assert torch.isfinite(out.loss) and model_state(net) == before
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in net.parameters() if p.requires_grad)

def test_teacher_is_detached_and_guided():
    net = NETS['resnet18_small']()
    x, y = torch.rand(2, 3, 32, 32), torch.tensor([0, 5])
    pair = standard_and_guided_grads(net, x, y, loss=F.cross_entropy)
    assert not pair.guided.requires_grad and pair.grad.requires_grad
    assert not torch.allclose(pair.grad, pair.guided)  # the guided rule changed the backward

def test_regularizer_aligns_gradients():
    "Minimizing λ·L_R alone (λ large) in a plain loop makes the standard gradient more like the guided one on that batch."
    torch.manual_seed(0)
    net = NETS['resnet18_small']()
    d = synth_shapes(16, size=32, seed=4)
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    regs = []
    for _ in range(15):
        opt.zero_grad(); o = interpretable_grad_loss(net, d['x'], d['y'], error='cos'); o.reg.backward(); opt.step()
        regs.append(o.reg.item())
    assert regs[-1] < regs[0] - 0.05, regs

def test_callback_gives_the_model_back_on_error():
    net = NETS['mobilenet_v2 (ReLU6 in place)']()
    d = synth_shapes(64, size=32, seed=5)
    ds = SynthDataset(d['x'], d['y'])
    before = model_state(net)
    cb = GradDenoiseCallback(lam=1.)
    bad = nn.CrossEntropyLoss()
    def loss(pred, y):
        if len(cb.batch_losses) == 1: raise RuntimeError('the loss failed')
        return bad(pred, y)
    with pytest.raises(RuntimeError, match='the loss failed'):
        fit_learner(net, ds, ds, loss, 1, 1e-3, bs=16, cbs=[cb])
    _, grads, hooks = model_state(net)
    assert hooks == before[2] and grads == before[1]
    assert not torch.overrides._get_current_function_mode_stack()

def test_callback_leaves_nothing_when_another_pre_hook_fails():
    "A user's forward pre-hook that raises before ours: our hooks come off and no one else's torch function mode is popped."
    net = NETS['mobilenet_v2 (ReLU6 in place)']()
    d = synth_shapes(64, size=32, seed=5)
    ds = SynthDataset(d['x'], d['y'])
    calls = []
    def fail_second(m, args):
        calls.append(1)
        if len(calls) == 2: raise RuntimeError('the user hook failed')
    h = net.register_forward_pre_hook(fail_second)
    try:
        before = model_state(net)
        with torch.device('cpu'):  # a mode of the caller's, which must survive
            depth = len(torch.overrides._get_current_function_mode_stack())
            with pytest.raises(RuntimeError, match='the user hook failed'):
                fit_learner(net, ds, ds, nn.CrossEntropyLoss(), 1, 1e-3, bs=16, cbs=[GradDenoiseCallback(lam=1.)])
            assert len(torch.overrides._get_current_function_mode_stack()) == depth
        assert model_state(net)[2] == before[2]
    finally: h.remove()
