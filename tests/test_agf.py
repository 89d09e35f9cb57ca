"AGF and the LRP family on unmodified torchvision VGG/ResNet: every architecture the issue names, class specificity, errors."
import pytest, torch, torch.nn as nn, torchvision
from xai_repro.core import set_seed
from xai_repro.lrp import RelevanceGraph, LRP, CLRP, SGLRP
from xai_repro.agf import AGF, ABLATIONS, guided_factorization, delta_shift
from xai_repro.metrics import pearson
from conftest import model_state

ARCHS = [f'vgg{d}{bn}' for d in (11, 13, 16, 19) for bn in ('', '_bn')] + [f'resnet{d}' for d in (18, 34, 50, 101, 152)]

@pytest.mark.parametrize('arch', ARCHS)
def test_every_named_architecture(arch):
    set_seed(0)
    net = getattr(torchvision.models, arch)(num_classes=5).eval()
    before = model_state(net), [type(m) for m in net.modules()]
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad(): y0 = net(x)
    for cls in (AGF, LRP):
        sal = cls(net)(x, 1)
        assert sal.shape == (1, 32, 32) and torch.isfinite(sal).all() and sal.abs().max() > 0
    assert (model_state(net), [type(m) for m in net.modules()]) == before
    with torch.no_grad(): assert torch.equal(net(x), y0)

def test_unsupported_layer_is_named():
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.SiLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))
    with pytest.raises(ValueError, match='SiLU'): AGF(net)
    with pytest.raises(ValueError, match='SiLU'): LRP(net)

def test_untraceable_model_is_named():
    class Branchy(nn.Module):
        def __init__(self): super().__init__(); self.fc = nn.Linear(3, 2)
        def forward(self, x): return self.fc(x.mean((2, 3))) if x.sum() > 0 else self.fc(x.amax((2, 3)))
    with pytest.raises(ValueError, match='torch.fx can trace'): AGF(Branchy())

def test_class_specific_and_batch_independent():
    "AGF's maps for two classes differ (Fig. 2c); LRP's hardly do; one image's map does not depend on the batch."
    set_seed(0)
    net = torchvision.models.vgg11_bn(num_classes=10).eval()
    x = torch.rand(3, 3, 64, 64)
    agf, lrp = AGF(net), LRP(net)
    r_agf = pearson(agf(x[:1], 1), agf(x[:1], 2)).item()
    r_lrp = pearson(lrp(x[:1], 1), lrp(x[:1], 2)).abs().item()
    assert r_lrp > 0.95 and r_agf < r_lrp
    torch.testing.assert_close(agf(x, [4, 5, 6])[1], agf(x[1:2], 5)[0], atol=2e-3, rtol=0)
    torch.testing.assert_close(CLRP(net)(x, [4, 5, 6])[2], CLRP(net)(x[2:], 6)[0], atol=2e-3, rtol=0)  # a difference of two near-equal maps: float32 rounding

def test_factorization_and_shift():
    "Eq. 7 on a hand-made tensor; the Δ-shift keeps each image's total."
    Y = torch.tensor([[[[3., -2.], [3., -2.]], [[0., 1.], [0., 1.]]]])
    phi = torch.tensor([[[[1., -1.], [2., 0.]]]])
    torch.testing.assert_close(guided_factorization(Y, phi)[0, 1], torch.tensor([[1., -1.], [1., -1.]]), atol=1e-5, rtol=0)
    G, r = torch.randn(2, 3, 4, 4), torch.randn(2, 3, 4, 4)
    G[G.abs() < 0.5] = 0
    torch.testing.assert_close(delta_shift(G, r).sum((1, 2, 3)), G.sum((1, 2, 3)), atol=1e-4, rtol=0)

def test_lrp_conserves_the_logit():
    set_seed(0)
    net = torchvision.models.resnet18(num_classes=5).eval()
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)) and m.bias is not None: m.bias = None
    x = torch.rand(2, 3, 64, 64)
    y = net(x).detach()
    t = y.argmax(1)
    torch.testing.assert_close(LRP(net, scale=False)(x, t).sum((1, 2)), y.gather(1, t[:, None])[:, 0], atol=1e-3 * y.abs().max().item(), rtol=0)

def test_ablations_change_the_map():
    set_seed(0)
    net = torchvision.models.resnet18(num_classes=10).eval()
    x = torch.rand(1, 3, 64, 64)
    full = AGF(net)(x, 3)
    for a in ABLATIONS:
        assert not torch.allclose(AGF(net, ablate=(a,))(x, 3), full, atol=1e-3), a

def test_absolute_add_rule_conserves_and_is_checked():
    "The stable split at residual additions keeps the total; an unknown rule is named."
    set_seed(0)
    net = torchvision.models.resnet18(num_classes=5).double().eval()
    x = torch.rand(2, 3, 64, 64, dtype=torch.float64)
    R, phi1, _ = AGF(net, add_rule='absolute').relevance(x, None)
    torch.testing.assert_close(R.sum((1, 2, 3)), phi1.sum(1), atol=1e-9 * R.abs().sum().item(), rtol=0)
    with pytest.raises(ValueError, match='add_rule'): AGF(net, add_rule='sign')
