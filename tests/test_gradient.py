"Gradient explainers agree with captum / pytorch-grad-cam; the guided switch is exact on real architectures; the contract holds."
import copy, warnings
import pytest, torch, torch.nn as nn, torch.nn.functional as F
import captum.attr as ca
from xai_repro.core import set_seed, find_layer
from xai_repro.models import load_model, default_layer
from xai_repro.explainer import METHODS
from xai_repro import gradient as xg
from xai_repro.gradient import GuidedSwitch, guided_mode, guided_grad, standard_and_guided_grads

def pearson(a, b):
    a, b = a.flatten(1).double(), b.flatten(1).double()
    a, b = a - a.mean(1, keepdim=True), b - b.mean(1, keepdim=True)
    den = a.norm(dim=1) * b.norm(dim=1)
    return torch.where(den > 0, (a * b).sum(1) / den.clamp_min(1e-30), torch.ones_like(den))

def assert_agree(ours, theirs, what, r_min=0.99, rtol=1e-4):
    r = pearson(ours, theirs)
    assert (r >= r_min).all(), f'{what}: per-image Pearson {r.tolist()}'
    scale = theirs.abs().amax()
    assert (ours - theirs).abs().amax() <= rtol * scale + 1e-12, f'{what}: max |diff| {(ours - theirs).abs().amax():.3g} vs max |ref| {scale:.3g}'

# --- a hand-written reference for guided backprop: a copy whose ReLU/ReLU6 modules have the textbook guided backward
class _RefGuided(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, hi):
        ctx.save_for_backward(x); ctx.hi = hi
        return x.clamp(min=0) if hi is None else x.clamp(0, hi)
    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        live = (x > 0) if ctx.hi is None else (x > 0) & (x < ctx.hi)
        return g * live * (g > 0), None

class RefGuided(nn.Module):
    def __init__(self, hi=None): super().__init__(); self.hi = hi
    def forward(self, x): return _RefGuided.apply(x, self.hi)

def ref_guided_copy(m):
    m = copy.deepcopy(m)
    for mod in list(m.modules()):
        for name, c in list(mod.named_children()):
            if isinstance(c, nn.ReLU6): setattr(mod, name, RefGuided(6.))
            elif isinstance(c, nn.ReLU): setattr(mod, name, RefGuided())
    return m

def grad_of(m, x, t, loss=None):
    x = x.detach().requires_grad_()
    y = m(x)
    L = F.cross_entropy(y, t) if loss == 'ce' else y.gather(1, t[:, None]).sum()
    return torch.autograd.grad(L, x)[0]

def no_hooks(m):
    return (all(not (mm._forward_hooks or mm._forward_pre_hooks or mm._backward_hooks or mm._backward_pre_hooks) for mm in m.modules())
            and torch._C._len_torch_function_stack() == 0)

# ------------------------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope='module')
def nets():
    set_seed(0)
    return {n: load_model(n, num_classes=20).eval() for n in ('resnet18', 'vgg11', 'mobilenet_v2')}

@pytest.fixture(scope='module')
def xt():
    set_seed(1)
    return torch.rand(2, 3, 64, 64), torch.tensor([3, 11])

@pytest.fixture(scope='module')
def photos():
    data = pytest.importorskip('xai_repro.data')
    x, meta = data.load_photos(224)
    names = list(meta.name)
    idx = [names.index(n) for n in ('chelsea', 'coffee')] if {'chelsea', 'coffee'} <= set(names) else [0, 1]
    return load_model('mobilenet_v2', pretrained=True).eval(), x[idx]

# ------------------------------------------------------------------------------------------------ captum agreement
def captum_ref(name, model, x, t, steps=8, method='riemann_right'):
    if name == 'gradient': return ca.Saliency(model).attribute(x, target=t, abs=False)
    if name == 'inputxgradient': return ca.InputXGradient(model).attribute(x, target=t)
    if name == 'guidedbackprop':
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            return ca.GuidedBackprop(model).attribute(x, target=t)
    if name == 'integratedgradients':
        return ca.IntegratedGradients(model).attribute(x, target=t, n_steps=steps, method=method, internal_batch_size=32)
    raise KeyError(name)

def ours(name, model, x, t, steps=8, method='riemann_right'):
    kw = dict(steps=steps, method=method) if name == 'integratedgradients' else {}
    return METHODS[name](model, **kw).attribute_pixels(x, t)

@pytest.mark.parametrize('arch', ['resnet18', 'vgg11'])
@pytest.mark.parametrize('name', ['gradient', 'inputxgradient', 'guidedbackprop', 'integratedgradients'])
def test_agrees_with_captum_random(nets, xt, arch, name):
    x, t = xt
    m = nets[arch]
    assert_agree(ours(name, m, x, t), captum_ref(name, m, x, t).detach(), f'{name} on {arch}')
    assert no_hooks(m)

@pytest.mark.parametrize('method', ['riemann_left', 'riemann_middle', 'gausslegendre'])
def test_ig_methods_agree_with_captum(nets, xt, method):
    x, t = xt
    m = nets['resnet18']
    assert_agree(ours('integratedgradients', m, x, t, 8, method), captum_ref('integratedgradients', m, x, t, 8, method).detach(), method)

def test_ig_trapezoid_differs_from_captum_by_its_weights(nets, xt):
    "captum's trapezoid weights sum to (m-1)/m; ours to 1 (nodes at spacing 1/(m-1))."
    x, t = xt
    m, steps = nets['resnet18'], 8
    a = ours('integratedgradients', m, x, t, steps, 'riemann_trapezoid')
    b = captum_ref('integratedgradients', m, x, t, steps, 'riemann_trapezoid').detach()
    assert_agree(a * (steps - 1) / steps, b, 'trapezoid')

@pytest.mark.parametrize('name', ['gradient', 'inputxgradient', 'integratedgradients'])
def test_agrees_with_captum_mobilenet_photos(photos, name):
    model, x = photos
    t = model(x).argmax(1)
    assert_agree(ours(name, model, x, t, steps=8), captum_ref(name, model, x, t, steps=8).detach(), f'{name} on MobileNetV2')

def test_guided_mobilenet_photos_matches_reference(photos):
    "MobileNetV2's activations are ReLU6 (captum's GuidedBackprop only hooks nn.ReLU): compare with the hand-written reference."
    model, x = photos
    t = model(x).argmax(1)
    ref = grad_of(ref_guided_copy(model), x, t)
    assert_agree(METHODS['guidedbackprop'](model).attribute_pixels(x, t), ref, 'guided backprop on MobileNetV2', rtol=1e-5)

@pytest.mark.parametrize('arch', ['resnet18', 'vgg11'])
def test_guided_gradcam_agrees_with_captum(nets, xt, arch):
    x, t = xt
    m = nets[arch]
    layer = find_layer(m, default_layer(m))
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        theirs = ca.GuidedGradCam(m, layer).attribute(x, target=t, interpolate_mode='bilinear').detach()
    assert_agree(METHODS['guidedgradcam'](m).attribute_pixels(x, t), theirs, f'guided grad-cam on {arch}')

@pytest.fixture(scope='module')
def resnet_small16():
    set_seed(0)
    return load_model('resnet18_small', num_classes=10, width=16).eval(), torch.rand(2, 3, 32, 32), torch.tensor([1, 7])

def test_fullgrad_agrees_with_pytorch_grad_cam(resnet_small16):
    "pytorch-grad-cam's FullGrad rescales each channel, as the paper's ψ does; it is given the network and the normalized image."
    import pytorch_grad_cam as pgc
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
    m, x, t = resnet_small16
    ours_map = METHODS['fullgrad'](m)(x, t)
    with pgc.FullGrad(model=m.inner, target_layers=[]) as fg:
        theirs = torch.from_numpy(fg(input_tensor=m.normalize(x), targets=[ClassifierOutputTarget(int(c)) for c in t]))
    r = pearson(ours_map, theirs)
    assert (r >= 0.99).all(), r

def authors_fullgrad(net, xn, t):
    "The FullGrad authors' saliency (idiap/fullgrad-saliency): module backward hooks, each layer rescaled as a whole, align_corners=True."
    grads, hs = {}, []
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # the authors' (deprecated) module backward hooks, which see past in-place ops
        for mm in net.modules():
            if xg.layer_bias(mm) is not None:
                hs.append(mm.register_backward_hook(lambda mod, gi, go: grads.__setitem__(mod, go[0])))
        xn = xn.clone().requires_grad_()
        out = net(xn)
        g, = torch.autograd.grad(out.gather(1, t[:, None]).sum(), xn)
    for h in hs: h.remove()
    def post(v):
        v = v.abs(); f = v.flatten(1)
        v = v - f.min(1).values.view(-1, *[1] * (v.ndim - 1))
        return v / (v.flatten(1).max(1).values.view(-1, *[1] * (v.ndim - 1)) + 1e-6)
    cam = post(g * xn).sum(1, keepdim=True)
    for mod, gr in grads.items():
        if gr.ndim == 4:
            b = xg.layer_bias(mod).detach().view(1, -1, 1, 1)
            cam = cam + F.interpolate(post(gr * b), size=xn.shape[-2:], mode='bilinear', align_corners=True).sum(1, keepdim=True)
    return cam[:, 0]

def test_fullgrad_per_layer_matches_authors_code(resnet_small16):
    m, x, t = resnet_small16
    theirs = authors_fullgrad(m.inner, m.normalize(x), t)
    r = pearson(METHODS['fullgrad'](m, per_channel=False)(x, t), theirs)
    assert (r >= 0.99).all(), r
    r_pc = pearson(METHODS['fullgrad'](m, per_channel=True)(x, t), theirs)
    assert (r_pc < r).all(), (r, r_pc)

def test_fullgrad_completeness(nets, xt):
    "Input term + every bias term = the logit, on ResNet-18, VGG-11 and MobileNetV2 (ReLU networks, eval BatchNorm)."
    x, t = xt
    for arch, m in nets.items():
        e = METHODS['fullgrad'](m)
        with e: logits, targ, inp, terms = e.decompose(x, t)
        total = inp.sum((1, 2, 3)) + sum(b.flatten(1).sum(1) for b in terms)
        torch.testing.assert_close(total, logits.gather(1, t[:, None])[:, 0].detach(), rtol=1e-3, atol=1e-4, msg=arch)

# ------------------------------------------------------------------------------------------------ the guided switch
@pytest.mark.parametrize('arch', ['resnet18', 'vgg11', 'mobilenet_v2'])
def test_switch_exact_on_architectures(nets, xt, arch):
    x, t = xt
    m = nets[arch]
    xx = x.clone().requires_grad_()
    sw = GuidedSwitch()
    with sw: y = m(xx)
    L = y.gather(1, t[:, None]).sum()
    with sw.guided(): gg, = torch.autograd.grad(L, xx, retain_graph=True)
    g, = torch.autograd.grad(L, xx)
    assert torch.equal(g, grad_of(m, x, t)), 'switch off must be the plain gradient, bit for bit'
    ref = grad_of(ref_guided_copy(m), x, t)
    torch.testing.assert_close(gg, ref, rtol=1e-5, atol=1e-6 * ref.abs().max())
    if arch != 'mobilenet_v2':
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            cap = ca.GuidedBackprop(m).attribute(x, target=t).detach()
        torch.testing.assert_close(gg, cap, rtol=1e-5, atol=1e-6 * cap.abs().max())
    assert no_hooks(m)

def test_switch_in_training_mode_one_forward(nets, xt):
    "Training mode: the two gradients equal separate passes, BN statistics move as after one forward, mode stays."
    x, t = xt
    m = copy.deepcopy(nets['resnet18']).train()
    plain, ref = copy.deepcopy(m), ref_guided_copy(m)
    out = standard_and_guided_grads(m, x, t, loss=F.cross_entropy)
    assert all(mm.training for mm in m.modules())
    g_plain, g_ref = grad_of(plain, x, t, 'ce'), grad_of(ref, x, t, 'ce')
    assert torch.equal(out.grad.detach(), g_plain)
    torch.testing.assert_close(out.guided, g_ref, rtol=1e-5, atol=1e-7)
    for a, b in zip(m.buffers(), plain.buffers()): assert torch.equal(a, b)  # running stats, num_batches_tracked

def test_differentiable_regularizer_matches_plain_double_backward(nets, xt):
    "∂/∂θ of E(δx, detach(δ_G x)) through the switch equals the same loss built with plain autograd (thesis Eq. 4.3–4.4)."
    x, t = xt
    m = copy.deepcopy(nets['vgg11']).train()
    m.inner.classifier = nn.Linear(512 * 7 * 7, 20)  # no dropout: the two models must draw nothing random
    m2 = copy.deepcopy(m)
    out = standard_and_guided_grads(m, x, t, loss=F.cross_entropy)
    (out.loss + 3. * (out.grad - out.guided).pow(2).mean()).backward()
    # the same with plain autograd: a second model, the teacher computed by the reference copy
    teacher = grad_of(ref_guided_copy(m2), x, t, 'ce')
    xx = x.clone().requires_grad_()
    L = F.cross_entropy(m2(xx), t)
    g, = torch.autograd.grad(L, xx, create_graph=True)
    (L + 3. * (g - teacher).pow(2).mean()).backward()
    for (n, p), p2 in zip(m.named_parameters(), m2.parameters()):
        torch.testing.assert_close(p.grad, p2.grad, rtol=1e-4, atol=1e-7, msg=n)
    assert all(p.grad.abs().sum() > 0 for p in m.parameters())

class FunctionalNet(nn.Module):
    "ReLU-family activations called every way a model can call them."
    def __init__(self):
        super().__init__()
        self.c1, self.c2, self.c3, self.c4 = (nn.Conv2d(3 if i == 0 else 8, 8, 3, padding=1) for i in range(4))
        self.act = nn.ReLU(inplace=True)  # used twice
        self.fc = nn.Linear(8, 5)
    def forward(self, x):
        x = F.relu(self.c1(x))
        x = self.act(self.c2(x))
        y = self.act(self.c3(x))          # the same module again
        y = torch.relu(y) + F.relu6(self.c4(y)).relu()
        y = F.hardtanh(y, 0., 3.)         # hardtanh(0, ·) is ReLU-family
        z = self.c4(y); z[:, :4].relu_()  # in place on a view, return value ignored
        w = self.c4(y); torch.relu_(w)    # in place, return value ignored
        return self.fc(F.adaptive_avg_pool2d(z + w, 1).flatten(1) * 10)

def test_functional_inplace_and_reused_activations():
    set_seed(0)
    m = FunctionalNet().train()
    x, t = torch.randn(2, 3, 16, 16), torch.tensor([1, 4])
    sw = GuidedSwitch()
    xx = x.clone().requires_grad_()
    with sw: y = m(xx)
    assert sw.calls == 9
    L = y.gather(1, t[:, None]).sum()
    with sw.guided(): gg, = torch.autograd.grad(L, xx, retain_graph=True)
    g, = torch.autograd.grad(L, xx)
    assert torch.equal(g, grad_of(m, x, t))
    # reference: the same network written with explicit guided activations
    R = lambda v, hi=None: _RefGuided.apply(v, hi)
    def ref_forward(v):
        v = R(m.c1(v)); v = R(m.c2(v)); w = R(m.c3(v))
        w = R(w) + R(R(m.c4(w), 6.))
        w = R(w, 3.)
        z = m.c4(w); z = torch.cat([R(z[:, :4]), z[:, 4:]], 1)
        u = R(m.c4(w))
        return m.fc(F.adaptive_avg_pool2d(z + u, 1).flatten(1) * 10)
    xr = x.clone().requires_grad_()
    ref, = torch.autograd.grad(ref_forward(xr).gather(1, t[:, None]).sum(), xr)
    torch.testing.assert_close(gg, ref, rtol=1e-5, atol=1e-7)
    assert gg.abs().sum() > 0 and not torch.allclose(gg, g)

def test_hardtanh_other_ranges_untouched():
    x = torch.randn(4, 6, requires_grad=True)
    with guided_mode() as sw: y = F.hardtanh(x, -1., 1.) + F.leaky_relu(x)
    assert sw.calls == 0

def test_guided_mode_and_guided_grad(nets, xt):
    x, t = xt
    m = nets['resnet18']
    xx = x.clone().requires_grad_()
    with guided_mode(): y = m(xx)
    g1, = torch.autograd.grad(y.gather(1, t[:, None]).sum(), xx)
    torch.testing.assert_close(g1, guided_grad(m, x, t), rtol=0, atol=0)
    assert not m.training and no_hooks(m)

def test_no_mode_left_after_errors(nets, xt):
    x, t = xt
    m = copy.deepcopy(nets['resnet18']).train()
    class Boom(nn.Module):
        def forward(self, x): raise RuntimeError('boom')
    m.inner.layer3[0].bn1 = nn.Sequential(m.inner.layer3[0].bn1, Boom())  # fails mid-forward, after some ReLUs
    for f in (lambda: guided_grad(m, x, t), lambda: standard_and_guided_grads(m, x, t)):
        with pytest.raises(RuntimeError, match='boom'): f()
        assert no_hooks(m) and m.training
    with pytest.raises(ValueError, match='out of range'): guided_grad(nets['resnet18'], x, 20)
    with pytest.raises(ValueError, match='out of range'): standard_and_guided_grads(nets['resnet18'], x, 25)
    with pytest.raises(ValueError, match='non-finite'): guided_grad(nets['resnet18'], x * float('nan'))
    assert no_hooks(m)

# ------------------------------------------------------------------------------------------------ the contract
ALL = {'gradient': {}, 'inputxgradient': {}, 'guidedbackprop': {}, 'smoothgrad': dict(n=4, seed=0),
       'integratedgradients': dict(steps=4), 'fullgrad': {}, 'guidedgradcam': {}}

@pytest.fixture(scope='module')
def small():
    set_seed(0)
    return load_model('resnet18_small', num_classes=10, width=8), torch.rand(3, 3, 32, 32)

@pytest.mark.parametrize('name', list(ALL))
def test_contract(small, name):
    m, x = small
    m.train()
    for p in m.inner.fc.parameters(): p.requires_grad_(False)  # a user's partly frozen model must come back so
    grads = [p.requires_grad for p in m.parameters()]
    e = METHODS[name](m, **ALL[name])
    sal = e(x)
    assert sal.shape == (3, 32, 32) and sal.dtype == torch.float32 and torch.isfinite(sal).all()
    assert sal.min() >= (-1 if e.signed else 0) and sal.max() <= 1
    assert m.training and [p.requires_grad for p in m.parameters()] == grads and no_hooks(m)
    assert all(p.grad is None for p in m.parameters())
    if name != 'smoothgrad':  # batch independence (SmoothGrad: the first image draws the same noise alone)
        torch.testing.assert_close(e(x[1:2], 4), e(x, 4)[1:2], rtol=1e-4, atol=1e-5)
    else:
        torch.testing.assert_close(e(x[:1], 4), e(x, 4)[:1], rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match='out of range'): e(x, 10)
    with pytest.raises(ValueError, match='out of range'): e(x, [1, 2, 99])
    with pytest.raises(ValueError, match='non-finite'): e(torch.where(x > .5, x, torch.full_like(x, float('nan'))))
    with pytest.raises(ValueError, match='B×C×H×W'): e(x[0])
    assert m.training and [p.requires_grad for p in m.parameters()] == grads and no_hooks(m)
    for p in m.parameters(): p.requires_grad_(True)

@pytest.mark.parametrize('name', list(ALL))
def test_contract_after_error_mid_call(small, name):
    m, x = small
    class Boom(nn.Module):
        def __init__(self): super().__init__(); self.armed = False
        def forward(self, x):
            if self.armed: raise RuntimeError('boom')
            return x
    boom = Boom()
    net = nn.Sequential(copy.deepcopy(m), boom).train()
    kw = dict(ALL[name], **({'layer': '0.inner.layer4'} if name == 'guidedgradcam' else {}))
    e = METHODS[name](net, **kw)
    boom.armed = True
    with pytest.raises(RuntimeError, match='boom'): e(x)
    with pytest.raises(RuntimeError, match='boom'): e.attribute_pixels(x) if hasattr(e, 'attribute_pixels') else e(x)
    assert net.training and all(p.requires_grad for p in net.parameters()) and no_hooks(net)

def test_smoothgrad_seed_and_generator(small):
    m, x = small
    a, b, c = (METHODS['smoothgrad'](m, n=6, seed=s)(x, 3) for s in (0, 0, 1))
    assert torch.equal(a, b) and (a - c).abs().max() > 1e-3
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    torch.testing.assert_close(METHODS['smoothgrad'](m, n=6, generator=g1)(x, 3), METHODS['smoothgrad'](m, n=6, generator=g2)(x, 3))
    e = METHODS['smoothgrad'](m, n=6, generator=g1)
    assert (e(x, 3) - e(x, 3)).abs().max() > 1e-3  # a generator you own advances between calls

def test_smoothgrad_converges_to_gradient_without_noise(small):
    m, x = small
    g = METHODS['gradient'](m).attribute_pixels(x, 2)
    torch.testing.assert_close(METHODS['smoothgrad'](m, n=3, noise=0.).attribute_pixels(x, 2), g, rtol=1e-5, atol=1e-7)
    gb = METHODS['guidedbackprop'](m).attribute_pixels(x, 2)
    torch.testing.assert_close(METHODS['smoothgrad'](m, n=3, noise=0., guided=True).attribute_pixels(x, 2), gb, rtol=1e-5, atol=1e-7)

def test_signed_maps(small):
    m, x = small
    ig = METHODS['integratedgradients'](m, steps=4, signed=True)
    sal = ig(x, 3)
    assert ig.signed and sal.min() < 0 and torch.allclose(sal.flatten(1).abs().amax(1), torch.ones(3))
    raw = ig.attribute_pixels(x, 3)
    torch.testing.assert_close(sal, raw.sum(1) / raw.sum(1).flatten(1).abs().amax(1)[:, None, None])

@pytest.mark.parametrize('name', ['gradient', 'inputxgradient', 'guidedbackprop', 'smoothgrad', 'integratedgradients', 'fullgrad', 'guidedgradcam'])
def test_differentiable_mode(small, name):
    m, x = small
    net = copy.deepcopy(m).train()
    sal = METHODS[name](net, create_graph=True, **ALL[name])(x, 3)
    assert sal.requires_grad
    sal.pow(2).mean().backward()
    assert net.inner.layer2[0].conv1.weight.grad.abs().sum() > 0
