"The disentanglement loss and callback on the CNNs the paper names: encoders train, the backbone gets the loss, the model comes back a plain classifier."
import pytest, torch, torch.nn as nn, torchvision
from fastai.learner import Learner
from fastai.callback.core import Callback
from fastai.data.core import DataLoaders
from xai_repro.disentangle import (DisentangleCallback, disentangle_loss, disentangle_terms, DisEncoder, transfer, Colorizer,
                                   rgb_to_lab, pretrain, dis_data, DIS_RECIPES)
from xai_repro.data import SynthDataset
from xai_repro.models import load_model, Normalized
from xai_repro.core import set_seed
from conftest import model_state

def timm_resnet18():
    import timm
    return Normalized(timm.create_model('resnet18', pretrained=False, num_classes=5)).train()

NETS = {'resnet18_small': lambda: load_model('resnet18_small', num_classes=5, width=8, eval=False),
        'vgg_small': lambda: load_model('vgg_small', num_classes=5, widths=(8, 16), eval=False),
        'torchvision resnet18': lambda: Normalized(torchvision.models.resnet18(num_classes=5)).train(),
        'timm resnet18': timm_resnet18}
LAYERS = {'timm resnet18': 'layer4'}

class Grab(Callback):
    order = 90
    def __init__(self): self.grads = {}
    def after_backward(self):
        self.grads = {n: p.grad.clone() for n, p in self.learn.model.named_parameters() if p.grad is not None}

def one_batch(net, cbs):
    set_seed(0)
    ds = SynthDataset(torch.rand(8, 3, 32, 32), torch.randint(0, 5, (8,)))
    g = Grab()
    Learner(DataLoaders.from_dsets(ds, ds, bs=8, shuffle=False), net, loss_func=nn.CrossEntropyLoss(), cbs=cbs).fit(1, 0., cbs=g)
    return g.grads

@pytest.mark.parametrize('name', list(NETS))
def test_callback_on_every_network(name):
    set_seed(0); net = NETS[name]()
    before, n_params = model_state(net), sum(1 for _ in net.parameters())
    base = one_batch(net, None)
    cb = DisentangleCallback(lam=1., layer=LAYERS.get(name))
    got = one_batch(net, cb)
    assert cb.encoders is not None and len(cb.batch_losses) == 1 and 0 < cb.batch_losses[0] <= 3
    changed = [k for k in base if not torch.allclose(base[k], got[k])]
    assert changed, 'L_dis did not reach the backbone'
    assert not any(k.endswith(('fc.weight', 'fc.bias', 'classifier.weight')) for k in changed)  # the head is not behind the features
    assert model_state(net)[2] == 0 and sum(1 for _ in net.parameters()) == n_params  # no hook, no new parameter
    assert model_state(net)[1] == before[1]

def test_lambda_zero_leaves_gradients():
    set_seed(0); net = NETS['resnet18_small']()
    base = one_batch(net, None)
    got = one_batch(net, DisentangleCallback(lam=0.))
    assert all(torch.equal(base[k], got[k]) for k in base)

def test_loss_bounds_and_gradients():
    set_seed(0)
    f = torch.rand(3, 16, 5, 5, requires_grad=True)
    eb, ec = DisEncoder(16, 4), DisEncoder(16, 4)
    l1, l2 = disentangle_terms(eb(f), ec(f))
    assert 0 <= l1 <= 2 and 0 <= l2 <= 1
    (l1 + l2).backward()
    assert all(p.grad is not None for p in [*eb.parameters(), *ec.parameters()]) and f.grad.abs().sum() > 0
    with pytest.raises(ValueError, match='B×K×H×W'): disentangle_loss(torch.rand(2, 3), torch.rand(2, 3))
    with pytest.raises(ValueError, match='unknown layer'):
        Learner(DataLoaders.from_dsets(SynthDataset(torch.rand(4, 3, 32, 32), torch.zeros(4, dtype=torch.long)), bs=4), NETS['resnet18_small'](),
                loss_func=nn.CrossEntropyLoss(), cbs=DisentangleCallback(layer='layer9')).fit(1)

def test_colorization_decoder_restores_size_and_transfer_reinitializes_first_conv():
    set_seed(0)
    net = load_model('resnet18_small', num_classes=4, width=8, eval=False)
    col = Colorizer(net, 48)
    L = rgb_to_lab(torch.rand(2, 3, 48, 48))[:, :1] / 100
    assert col(L).shape == (2, 2, 48, 48)
    fresh = load_model('resnet18_small', num_classes=5, width=8, eval=False)
    c1 = fresh.inner.conv1.weight.clone()
    transfer(fresh, net.state_dict(), ('fc.', 'conv1.'))
    assert torch.equal(fresh.inner.conv1.weight, c1) and fresh.inner.conv1.in_channels == 3
    assert torch.equal(fresh.inner.layer1[0].conv1.weight, net.inner.layer1[0].conv1.weight)

@pytest.mark.parametrize('kind', ['rotation', 'simclr', 'colorization', 'supervised'])
def test_every_pretext_task_trains(kind):
    r = dict(DIS_RECIPES['smoke'], pre_epochs=1)
    data = dis_data('smoke')
    data['pretrain'] = (data['pretrain'][0][:48], data['pretrain'][1][:48])
    init = load_model('resnet18_small', num_classes=4, width=8).state_dict()
    state = pretrain('resnet18_small', kind, data, r)
    k = 'inner.layer2.0.conv1.weight'
    assert not torch.equal(state[k], init[k])
    with pytest.raises(ValueError, match='pretext task'): pretrain('resnet18_small', 'jigsaw', data, r)

def test_paper_scale_data_from_a_fixture(tmp_path):
    from xai_repro.datasets import tiny_imagenet_fixture
    from xai_repro.disentangle import TRAIN_WNIDS, PRETRAIN_WNIDS
    root = tiny_imagenet_fixture(tmp_path, n=10, wnids=tuple(TRAIN_WNIDS) + tuple(PRETRAIN_WNIDS) + ('n01443537',))
    d = dis_data('paper', root)
    x, y = d['test']
    assert x.shape[1:] == (3, 224, 224) and set(y.tolist()) <= set(range(5)) and len(d['boxes']) == len(x)
    assert len(d['train']) + len(d['valid']) == 50 and len(d['pretrain']) == 50
    xb, yb = d['train'][0]
    assert xb.shape == (3, 224, 224) and 0 <= yb < 5
    with pytest.raises(ValueError, match='lacks'): dis_data('paper', tiny_imagenet_fixture(tmp_path/'b', n=2))

def test_lambda_zero_trains_the_same_weights_with_dropout():
    "Building the encoders draws no number from the training's random stream: with λ = 0 a network with dropout trains exactly as without the callback."
    def net():
        set_seed(0)
        return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(), nn.Dropout(0.3),
                             nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 5))
    ds = SynthDataset(torch.rand(32, 3, 16, 16), torch.randint(0, 5, (32,)))
    def train(cbs):
        m = net(); set_seed(1)
        Learner(DataLoaders.from_dsets(ds, ds, bs=8, shuffle=False), m, loss_func=nn.CrossEntropyLoss(), cbs=cbs).fit(1, 1e-2)
        return m.state_dict()
    base, got = train(None), train(DisentangleCallback(lam=0., layer='2'))
    assert all(torch.equal(base[k], got[k]) for k in base)
