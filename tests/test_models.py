"Every model name builds, takes [0,1] images, has an existing default layer; pretrained weights never wait on the network."
import time
import pytest, torch
from xai_repro.core import find_layer
from xai_repro.models import MODEL_NAMES, load_model, default_layer, with_normalization, token_grid, is_transformer

def _size(name): return 224 if 'patch16' in name else (32 if name.endswith('small') and 'vit' not in name and 'deit' not in name and 'convnext' not in name else 64)

@pytest.mark.parametrize('name', MODEL_NAMES)
def test_every_model(name):
    m = load_model(name, num_classes=5)
    x = torch.rand(1, 3, _size(name), _size(name))
    with torch.no_grad(): y = m(x)
    assert y.shape == (1, 5)
    layer = find_layer(m, default_layer(m))
    acts = []
    h = layer.register_forward_hook(lambda mod, i, o: acts.append(o))
    with torch.no_grad(): m(x)
    h.remove()
    a = token_grid(acts[0], m) if is_transformer(m) else acts[0]
    assert a.ndim == 4 and a.shape[-1] >= 1, (name, a.shape)
    assert not m.training

@pytest.mark.parametrize('name', ['resnet50', 'vit_base_patch16_224', 'convnext_tiny'])
def test_pretrained_fails_fast_offline(name):
    t = time.time()
    with pytest.raises(FileNotFoundError, match="pretrained='path/to/checkpoint.pth'"):
        load_model(name, pretrained=True)
    assert time.time() - t < 10

def test_pretrained_from_file(tmp_path):
    src = load_model('resnet18')
    torch.save(src.inner.state_dict(), tmp_path/'r18.pth')
    m = load_model('resnet18', pretrained=tmp_path/'r18.pth')
    x = torch.rand(1, 3, 64, 64)
    torch.testing.assert_close(m(x), src(x))
    torch.save({'fc.weight': torch.zeros(3)}, tmp_path/'bad.pth')
    with pytest.raises(ValueError, match='does not fit resnet18'): load_model('resnet18', pretrained=tmp_path/'bad.pth')

def test_mobilenet_imagenet_offline():
    m = load_model('mobilenet_v2', pretrained=True)
    from xai_repro.data import load_photos
    x, meta = load_photos(224)
    i = list(meta.name).index('coffee')
    with torch.no_grad(): p = m(x[i:i+1]).softmax(1)
    assert p.argmax().item() == 967 and p.max() > 0.9  # espresso

def test_user_model_wrapped_keeps_names():
    import torchvision
    net = torchvision.models.resnet18()
    m = with_normalization(net)
    assert find_layer(m, 'layer4') is net.layer4 and default_layer(m) == 'layer4'
    with pytest.raises(ValueError, match="unknown layer 'layer9'"): find_layer(m, 'layer9')
