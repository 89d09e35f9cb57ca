"CA-Stream on every supported backbone (shapes, frozen network given back), and its explainer against the contract."
import pytest, torch, torchvision, timm
from xai_repro.castream import CAStream, stream_taps
from xai_repro.explain import explain
from xai_repro.models import load_model, with_normalization
from conftest import model_state

BACKBONES = {
    'resnet18': lambda: torchvision.models.resnet18(num_classes=7), 'resnet34': lambda: torchvision.models.resnet34(num_classes=7),
    'resnet101': lambda: torchvision.models.resnet101(num_classes=7), 'convnext_tiny': lambda: torchvision.models.convnext_tiny(num_classes=7),
    'timm_resnet18': lambda: timm.create_model('resnet18', num_classes=7), 'timm_convnext_tiny': lambda: timm.create_model('convnext_tiny', num_classes=7),
    'mobilenet_v2': lambda: torchvision.models.mobilenet_v2(num_classes=7),
    'vgg_small': lambda: load_model('vgg_small', num_classes=7, widths=(8, 16)), 'resnet18_small': lambda: load_model('resnet18_small', num_classes=7, width=8),
}

@pytest.mark.parametrize('name', list(BACKBONES))
def test_every_backbone(name):
    torch.manual_seed(0)
    net = BACKBONES[name]().eval()
    x = torch.rand(2, 3, 64, 64)
    before = model_state(net)
    cas = CAStream(net, size=64)
    with torch.no_grad(): out, ref = cas(x), net(x)
    assert out.shape == ref.shape == (2, 7) and torch.isfinite(out).all()
    assert len(cas.attentions) == len(cas.tap_names) == len(stream_taps(net)[0])
    for a in cas.attentions: torch.testing.assert_close(a.sum((1, 2)), torch.ones(2))
    assert model_state(net) == before
    with torch.no_grad(): torch.testing.assert_close(net(x), ref)  # the network itself is unchanged

def test_attention_explainer_contract(cnn):
    cas = CAStream(cnn, size=32)
    x = torch.rand(2, 3, 32, 32)
    before, xc = model_state(cnn), x.clone()
    sal = explain(cas, x, 'castream-attention', [1, 2])
    assert sal.shape == (2, 32, 32) and sal.min() >= 0 and sal.max() <= 1
    assert model_state(cnn) == before and torch.equal(x, xc)
    with pytest.raises(ValueError, match='3 targets for 2 images'): explain(cas, x, 'castream-attention', [1, 2, 3])
    with pytest.raises(ValueError, match='out of range'): explain(cas, x, 'castream-attention', 10)
    bad = x.clone(); bad[0, 0, 0, 0] = float('nan')
    with pytest.raises(ValueError, match='non-finite'): explain(cas, bad, 'castream-attention')
    g = explain(cas, x, 'gradcam', [1, 2])  # CAMs through the stream
    assert g.shape == (2, 32, 32) and model_state(cnn) == before

def test_bad_backbone():
    with pytest.raises(ValueError, match='no stages found for Sequential'): CAStream(torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3)), size=32)
    with pytest.raises(ValueError, match='unknown layer'):
        CAStream(torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3)), taps=['0'], head='9', size=32)
