"The ante-hoc weight network across task heads: interpretation maps, the two passes kept apart, models given back as they came."
import pytest, torch, torch.nn as nn, torchvision
from fastai.learner import Learner
from fastai.callback.core import Callback
from fastai.data.core import DataLoaders
from xai_repro.antehoc import (AnteHoc, AnteHocCallback, Captioner, CaptionPairs, caption_loss, conv_names, soft_attention,
                               Vocab, synth_captions, AH_RECIPES, _trunk)
from xai_repro.data import SynthDataset, synth_shapes
from xai_repro.models import load_model, Normalized
from xai_repro.core import set_seed
from conftest import model_state

def classifier(): return load_model('resnet18_small', num_classes=10, width=8, eval=False)
def regressor(): return load_model('vgg_small', num_classes=2, widths=(8, 16), eval=False)
def torchvision_net(): return Normalized(torchvision.models.resnet18(num_classes=5)).train()

def caption_task(n=16, size=32):
    d = synth_shapes(n, size=size, seed=3)
    caps = synth_captions(d, size)
    vocab = Vocab(caps)
    tok = vocab.encode(caps)
    enc, fdim = _trunk(AH_RECIPES['smoke'])
    return Captioner(enc, fdim, len(vocab)), d['x'], tok

HEADS = {'classification (ResNet-18-small)': classifier, 'regression (VGG-small)': regressor, 'torchvision ResNet-18': torchvision_net}

@pytest.mark.parametrize('name', list(HEADS))
@pytest.mark.parametrize('weights', ['pixel', 'single'])
def test_imap_for_every_head(name, weights):
    set_seed(0)
    ah = AnteHoc(HEADS[name](), n_maps=4, weights=weights).eval()
    x = torch.rand(3, 3, 48, 40)
    out, sams = ah.with_sams(x)
    assert sams.shape == (3, 4, 48, 40) and 0 <= sams.min() and sams.max() <= 1
    wm = ah.weight_net(sams)
    assert torch.allclose(wm.sum(1), torch.ones(3, 48, 40), atol=1e-5)  # weight maps sum to 1 per pixel
    im = ah.imap(x)
    assert im.shape == (3, 48, 40) and torch.allclose(im, (wm * sams).sum(1), atol=1e-6)  # Eq. 1
    assert torch.equal(out, ah(x))

def test_imap_for_a_captioner():
    set_seed(0)
    cap, x, tok = caption_task()
    ah = AnteHoc(cap, n_maps=4).eval()
    assert ah.imap(x[:2], tok[:2]).shape == (2, 32, 32)
    assert ah(x[:2], tok[:2]).shape == (2, tok.shape[1] - 1, cap.out.out_features)

def test_layers_first_and_last_and_bad_eta():
    m = classifier()
    names = conv_names(m)
    ah = AnteHoc(m, n_maps=4)
    assert ah.layer_names[0] == names[0] and ah.layer_names[-1] == names[-1] and len(set(ah.layer_names)) == 4
    with pytest.raises(ValueError, match='more than the model'): AnteHoc(m, n_maps=len(names) + 1)
    with pytest.raises(ValueError, match='n_maps must be an integer >= 1'): AnteHoc(m, n_maps=0)
    with pytest.raises(ValueError, match='unknown layer'): AnteHoc(m, layers=['layer7.conv1'])
    with pytest.raises(ValueError, match='sam must be'): AnteHoc(m, sam='median')

def test_model_given_back_also_on_error():
    m = classifier()
    m.inner.layer1.eval(); m.inner.fc.weight.requires_grad_(False)
    before = model_state(m)
    ah = AnteHoc(m, n_maps=3)
    ah.imap(torch.rand(2, 3, 32, 32))
    assert model_state(m) == before
    with pytest.raises(ValueError): ah.imap(torch.rand(2, 3, 32))  # not B×C×H×W
    with pytest.raises(RuntimeError): ah.imap(torch.rand(2, 4, 32, 32))  # the network fails inside: hooks still removed
    with pytest.raises(ValueError, match='non-finite|finite'): ah.imap(torch.full((1, 3, 32, 32), float('nan')))
    assert model_state(m) == before

class Spy(Callback):
    "Records the network and the weight network at the start of each batch and between the two passes."
    order = AnteHocCallback.order - 1
    def __init__(self): self.log = []
    def snap(self, m): return {k: v.detach().clone() for k, v in m.state_dict().items()}
    def before_batch(self): self.log.append(('start', self.snap(self.learn.model.inner), self.snap(self.learn.model.weight_net)))
    def after_step(self): self.log.append(('pass1', self.snap(self.learn.model.inner), self.snap(self.learn.model.weight_net)))

def same(a, b): return all(torch.equal(a[k], b[k]) for k in a)

def check_passes(spy):
    st, p1 = [l for l in spy.log if l[0] == 'start'], [l for l in spy.log if l[0] == 'pass1']
    assert len(p1) >= 2
    for i in range(len(p1) - 1):
        assert same(st[i][2], p1[i][2]), 'pass 1 changed the weight network'
        assert not same(st[i][1], p1[i][1]), 'pass 1 did not train the network'
        assert same(p1[i][1], st[i + 1][1]), 'pass 2 changed the network (parameters or BatchNorm statistics)'
        assert not same(p1[i][2], st[i + 1][2]), 'pass 2 did not train the weight network'

@pytest.mark.parametrize('first', ['eval', 'train'])
def test_two_passes_for_regression(first):
    set_seed(0)
    x, t = torch.rand(48, 3, 32, 32), torch.rand(48, 2)
    ds = SynthDataset(x, t)
    spy, cb = Spy(), AnteHocCallback(first=first)
    Learner(DataLoaders.from_dsets(ds, ds, bs=16, drop_last=True), AnteHoc(regressor(), n_maps=3), loss_func=nn.MSELoss(), cbs=[cb, spy]).fit(1, 1e-3)
    check_passes(spy)
    assert len(cb.batch_losses) == 3

def test_two_passes_for_captioning():
    set_seed(0)
    cap, x, tok = caption_task(32)
    ds = CaptionPairs(x, list(tok[:, None]))
    spy = Spy()
    Learner(DataLoaders.from_dsets(ds, ds, bs=8, drop_last=True), AnteHoc(cap, n_maps=3), loss_func=caption_loss, cbs=[AnteHocCallback(), spy]).fit(1, 1e-3)
    check_passes(spy)

def test_second_pass_learns_to_keep_the_prediction():
    "Pass 2 repeated on one batch lowers L_interpret (Eq. 3): the weight network learns something."
    set_seed(0)
    net = classifier()
    ah = AnteHoc(net, n_maps=4)
    x = torch.rand(16, 3, 32, 32)
    cb = AnteHocCallback(lr=1e-2)
    class L: model = ah
    cb.learn = L()
    cb.before_fit()
    _, sams = ah.with_sams(x)
    losses = [cb.second_pass((x,), sams) for _ in range(30)]
    assert losses[-1] < 0.7 * losses[0]
    assert all(p.grad is None for p in ah.parameters())  # no gradient left behind for fastai's step

def test_callback_options():
    with pytest.raises(ValueError, match='first must be'): AnteHocCallback(first='second')
    with pytest.raises(ValueError, match='lr must be'): AnteHocCallback(lr=0)

def test_soft_attention_scale_free():
    a = torch.randn(2, 6, 7, 5)
    assert torch.allclose(soft_attention(a), soft_attention(3 * a + 1), atol=1e-5)
    assert torch.allclose(soft_attention(a).flatten(1).amax(1), torch.ones(2))

@pytest.mark.parametrize('dataset', ['cifar10', 'animals10', 'food11', 'tiny_imagenet'])
def test_paper_scale_data_from_fixtures(dataset, tmp_path):
    "The paper-scale data path on tiny datasets in the real layouts (the loaders of `xai_repro.datasets`)."
    from xai_repro.antehoc import ah_data
    from xai_repro.datasets import write_fixture
    root = write_fixture(dataset, tmp_path)
    d = ah_data(dataset, 'paper', root)
    x, y = d['test']
    assert x.shape[1:] == (3, 128, 128) and len(x) == len(y) > 0 and 0 <= y.min() and y.max() < d['n_classes']
    assert len(d['train']) > 0 and d['train'][0][0].shape == (3, 128, 128)

def test_paper_scale_landmarks_and_captions_from_fixtures(tmp_path):
    from xai_repro.antehoc import landmark_data, caption_data
    from xai_repro.datasets import write_fixture
    d = landmark_data('paper', 'all', write_fixture('aflw2000', tmp_path/'a', n=5))
    assert d['n_out'] == 8 and d['train'][1].shape[1] == 8 and ((0 <= d['train'][1]) & (d['train'][1] <= 1)).all()
    c = caption_data('paper', write_fixture('flickr8k', tmp_path/'f'))
    x, tok = c['test']
    assert tok.shape == (len(x), 20) and (tok[:, 0] == 1).all() and len(c['train']) > 0
    item = c['train'][0]
    assert item[0].shape == (3, 128, 128) and torch.equal(item[1], item[2])
    with pytest.raises(FileNotFoundError, match='data_root'): landmark_data('paper', 'nose')

def test_capture_does_not_outlive_a_failed_forward():
    "A forward pass that raises during training leaves the model a plain one: no capturing, no SAMs kept."
    ah = AnteHoc(classifier(), n_maps=3)
    calls = []
    def fail_second(m, i, o):  # the second training-mode call: pass 1 of the second batch (pass 2 runs in eval mode)
        if m.training: calls.append(1)
        if len(calls) == 2: raise RuntimeError('the network failed')
    h = ah.inner.register_forward_hook(fail_second)
    ds = SynthDataset(torch.rand(32, 3, 32, 32), torch.randint(0, 10, (32,)))
    try:
        with pytest.raises(RuntimeError, match='the network failed'):
            Learner(DataLoaders.from_dsets(ds, ds, bs=8, drop_last=True), ah, loss_func=nn.CrossEntropyLoss(), cbs=[AnteHocCallback()]).fit(1, 1e-3)
    finally: h.remove()
    assert ah.capture is False
    ah.eval(); ah(torch.rand(2, 3, 32, 32))
    assert ah.sams is None
