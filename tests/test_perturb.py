"RISE and extremal perturbations: the explainer contract, models whose evidence is known, and a real ImageNet model on a real photo."
import pytest, torch, torch.nn as nn
from xai_repro.core import set_seed
from xai_repro.models import load_model
from xai_repro.explainer import METHODS
from xai_repro.perturb import RISE, Extremal, private_generator

FAST = {RISE: dict(N=64, batch_size=32), Extremal: dict(areas=.1, steps=4, batch_size=32)}  # contract checks only
CLASSES = [RISE, Extremal]

class Regions(nn.Module):
    "Logit of class c = gain × mean over box c of channel 0 (`energy`: of (x − ½)², the local contrast, which blur removes)."
    def __init__(self, boxes, gain=100., energy=False):
        super().__init__(); self.boxes, self.gain, self.energy = boxes, gain, energy
        self.w = nn.Parameter(torch.ones(()))
    def forward(self, x):
        v = (x[:, 0] - .5) ** 2 if self.energy else x[:, 0]
        return self.gain * self.w * torch.stack([v[:, y0:y1, x0:x1].mean((1, 2)) for y0, y1, x0, x1 in self.boxes], 1)

def box_mask(b, size=32):
    m = torch.zeros(size, size, dtype=torch.bool); m[b[0]:b[1], b[2]:b[3]] = True
    return m

def hooks_of(model):
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks) for m in model.modules())

@pytest.fixture(scope='module')
def tiny():
    set_seed(0)
    return load_model('resnet18_small', num_classes=10, width=8)

def test_registered():
    from xai_repro.explain import explain
    assert METHODS['rise'] is RISE and METHODS['extremal'] is Extremal
    m = Regions([(0, 8, 0, 8), (8, 16, 8, 16)])
    assert explain(m, torch.rand(2, 3, 16, 16), 'rise', N=16).shape == (2, 16, 16)

@pytest.mark.parametrize('cls', CLASSES)
def test_contract(tiny, cls):
    model = tiny.train()
    model.inner.fc.weight.requires_grad_(False)  # a mixed state, to see it come back exactly
    modes = [m.training for m in model.modules()]
    grads = [p.requires_grad for p in model.parameters()]
    x = torch.rand(3, 3, 32, 32)
    sal = cls(model, **FAST[cls])(x, [1, 2, 3])
    assert sal.shape == (3, 32, 32) and sal.dtype == torch.float32 and sal.device == x.device
    assert torch.isfinite(sal).all() and sal.min() >= 0 and sal.max() <= 1
    assert [m.training for m in model.modules()] == modes and [p.requires_grad for p in model.parameters()] == grads
    assert hooks_of(model) == 0 and all(p.grad is None for p in model.parameters())
    model.inner.fc.weight.requires_grad_(True); model.eval()

class Boom(nn.Module):
    "Wraps a model and raises on its `after`-th call."
    def __init__(self, inner, after): super().__init__(); self.inner, self.after, self.calls = inner, after, 0
    def forward(self, x):
        self.calls += 1
        if self.calls >= self.after: raise RuntimeError('boom')
        return self.inner(x)

@pytest.mark.parametrize('cls', CLASSES)
def test_state_restored_after_error(tiny, cls):
    boom = Boom(tiny, after=3).train()
    tiny.inner.layer1[0].bn1.eval()
    modes = [m.training for m in boom.modules()]
    grads = [p.requires_grad for p in boom.parameters()]
    with pytest.raises(RuntimeError, match='boom'):
        cls(boom, **FAST[cls])(torch.rand(2, 3, 32, 32))
    assert [m.training for m in boom.modules()] == modes and [p.requires_grad for p in boom.parameters()] == grads
    assert hooks_of(boom) == 0
    tiny.eval()

@pytest.mark.parametrize('cls', CLASSES)
def test_bad_input(tiny, cls):
    e, x = cls(tiny, **FAST[cls]), torch.rand(3, 3, 32, 32)
    with pytest.raises(ValueError, match='out of range'): e(x, 10)
    with pytest.raises(ValueError, match='non-negative'): e(x, -1)
    with pytest.raises(ValueError, match='3 images'): e(x, [1, 2])
    with pytest.raises(ValueError, match='non-finite'): e(torch.where(x > .99, float('nan'), x))
    with pytest.raises(ValueError, match='non-finite'): e(torch.where(x > .99, float('inf'), x))
    with pytest.raises(ValueError, match='4 dims'): e(x[0])
    with pytest.raises(ValueError, match='channels'): e(torch.rand(2, 1, 32, 32))
    assert hooks_of(tiny) == 0

def test_bad_arguments(tiny):
    for kw, msg in [(dict(N=0), 'N must'), (dict(s=0), 's must'), (dict(p=1.5), 'p must'), (dict(border='wrap'), 'border')]:
        with pytest.raises(ValueError, match=msg): RISE(tiny, **kw)
    for kw, msg in [(dict(areas=0), 'areas'), (dict(areas=[]), 'areas'), (dict(steps=0), 'steps'), (dict(variant='dual'), 'variant'),
                    (dict(reward='prob'), 'reward'), (dict(jitter='yes'), 'jitter'), (dict(levels=1), 'levels')]:
        with pytest.raises(ValueError, match=msg): Extremal(tiny, **kw)

def test_user_generator_untouched(tiny):
    g = torch.Generator().manual_seed(7); state = g.get_state()
    a = RISE(tiny, N=32, generator=g)(torch.rand(1, 3, 32, 32))
    assert torch.equal(g.get_state(), state)
    Extremal(tiny, steps=3, jitter='random', generator=g)(torch.rand(1, 3, 32, 32))
    assert torch.equal(g.get_state(), state)
    assert private_generator(None) is not None  # seeded from the global RNG

def test_rise_batch_and_chunk_independence(tiny):
    x = torch.rand(3, 3, 32, 32)
    e = RISE(tiny, N=64, batch_size=64)
    full = e(x, [4, 5, 6])
    torch.testing.assert_close(e(x[1:2], 5), full[1:2], atol=1e-5, rtol=1e-5)   # the same masks for every image
    torch.testing.assert_close(RISE(tiny, N=64, batch_size=7)(x, [4, 5, 6]), full, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(RISE(tiny, N=64, batch_size=7, cache=False)(x, [4, 5, 6]), full, atol=1e-5, rtol=1e-5)

def checkerboards():
    "Images whose two boxes hold a checkerboard (contrast that blur removes), and the boxes."
    boxes = [(4, 16, 10, 22), (20, 32, 10, 22)]
    cb = ((torch.arange(32)[:, None] + torch.arange(32)) % 2).float()
    img = torch.full((1, 3, 32, 32), .5)
    for y0, y1, x0, x1 in boxes: img[:, :, y0:y1, x0:x1] = cb[y0:y1, x0:x1]
    return img, boxes

def test_extremal_batch_and_chunk_independence():
    # exact on a toy model; a conv net's own last bits may depend on its batch size, and where its class score
    # gives little guidance the ranking in the area loss can amplify them
    img, boxes = checkerboards()
    xs, toy = torch.cat([img, img.flip(-2), img * .8 + .1]), Regions(boxes, energy=True)
    e = Extremal(toy, areas=(.05, .1), steps=20, batch_size=64)
    full = e(xs, [0, 1, 0])
    assert torch.equal(e(xs[1:2], 1), full[1:2])
    assert torch.equal(Extremal(toy, areas=(.05, .1), steps=20, batch_size=4)(xs, [0, 1, 0]), full)
    assert torch.equal(e(xs, [0, 1, 0]), full)

def test_rise_highlights_the_evidence():
    boxes = [(4, 12, 12, 20), (20, 28, 12, 20)]
    img = torch.zeros(1, 3, 32, 32)
    for y0, y1, x0, x1 in boxes: img[:, :, y0:y1, x0:x1] = 1.
    r = RISE(Regions(boxes), N=500, batch_size=100)
    for c in (0, 1):
        s = r(img, c)[0]
        inside, other = box_mask(boxes[c]), box_mask(boxes[1 - c])
        assert s[inside].mean() > s[~inside].mean() + .3 and s[inside].mean() > s[other].mean() + .5
        assert inside[s >= s.flatten().quantile(.95)].float().mean() > .9

@pytest.mark.parametrize('variant', ['preserve', 'delete'])
def test_extremal_finds_the_evidence(variant):
    img, boxes = checkerboards()
    e = Extremal(Regions(boxes, energy=True), areas=.05, steps=80, variant=variant)
    for c in (0, 1):
        m = e.masks(img, c)[0, 0]
        inside = box_mask(boxes[c])
        assert m[inside].sum() / m.sum() > .85, (c, m[inside].sum() / m.sum())
        border = nn.functional.max_pool2d(inside[None, None].float(), 3, 1, 1)[0, 0] > 0  # the box and its 1-px rim
        assert border[m > .5].all()  # the smooth mask may spill one pixel over the box's edge, no further
        assert abs(m.mean() - .05) < .02

# A real ImageNet classifier on a real photo (MobileNetV2's weights ship with an installed package)

@pytest.fixture(scope='module')
def coffee():
    data = pytest.importorskip('xai_repro.data')
    x, meta = data.load_photos(224, names=['coffee'])
    x0, y0, x1, y1 = [round(v) for v in meta.boxes[0][meta.labels[0].index('cup')]]
    inside = torch.zeros(224, 224, dtype=torch.bool); inside[y0:y1, x0:x1] = True
    return load_model('mobilenet_v2', pretrained=True), x, inside

def test_rise_on_mobilenet(coffee):
    model, x, inside = coffee
    with torch.no_grad(): assert model(x).argmax().item() == 967  # espresso
    s, t = RISE(model, N=200, batch_size=50).class_maps(x, [967, 0])[0]  # one set of forward passes for both
    top = s >= s.flatten().quantile(.9)
    assert inside.flatten()[s.flatten().argmax()]            # the peak is on the cup (pointing game)
    assert inside[top].float().mean() > .6                   # and most of the top 10%, where chance is 29%
    assert inside[t >= t.flatten().quantile(.9)].float().mean() < .4  # 'tench', absent from the photo: another map

def test_extremal_on_mobilenet(coffee):
    model, x, inside = coffee
    m = Extremal(model, areas=.1, steps=40).masks(x, 967)[0, 0]
    assert (m[inside].sum() / m.sum()).item() > .8
    assert abs(m.mean().item() - .1) < .03
