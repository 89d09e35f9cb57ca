"Metrics against hand-computed values, batch independence, chunking invariance, bad input, and `evaluate` end to end."
import math
from functools import partial
import numpy as np, pandas as pd, pytest, torch, torch.nn as nn
from xai_repro.core import set_seed
from xai_repro.models import load_model
from xai_repro.cam import GradCAM
from xai_repro import metrics as M

def sig(t): return 1 / (1 + math.exp(-t))

class MeanNet(nn.Module):
    "Logits (w·(mean(x) − b), 0): p0 = sigmoid(w·(mean(x) − b)), computable by hand."
    def __init__(self, w=4., b=0.):
        super().__init__(); self.w, self.b = w, b
        self.lin = nn.Linear(1, 1)  # a parameter, so that mode and requires_grad can be checked
    def forward(self, x):
        m = x.mean((1, 2, 3))
        return torch.stack([self.w * (m - self.b), torch.zeros_like(m)], 1)

def t(*v): return torch.tensor(v, dtype=torch.float32)

@pytest.fixture(scope='module')
def net():
    set_seed(0)
    return load_model('resnet18_small', num_classes=10, width=8)

@pytest.fixture(scope='module')
def batch(net):
    "Five 16-px images (small keeps the many-forward tests fast) and their Grad-CAM maps."
    g = torch.Generator().manual_seed(0)
    x = torch.rand(5, 3, 16, 16, generator=g)
    return x, GradCAM(net, layer='layer3')(x)

ONES = torch.ones(1, 3, 4, 4)
HALF = torch.zeros(1, 4, 4); HALF[:, :2] = 1

# ---- AD / AI / AG: thesis Eq. (1.10), (1.11), (2.8)

def test_ad_ai_ag_by_hand():
    p, o = sig(4.), sig(2.)  # all-ones image; the half map halves the mean
    r = M.ad_ai_ag(MeanNet(), ONES, HALF, 0)
    assert torch.allclose(r['AD'], t(100 * (p - o) / p), atol=1e-4)
    assert r['AI'].item() == 0 and r['AG'].item() == 0
    r = M.ad_ai_ag(MeanNet(), ONES, HALF, 1)  # class 1 has probability 1 - sigmoid: it gains
    p1, o1 = 1 - p, 1 - o
    assert torch.allclose(r['AG'], t(100 * (o1 - p1) / (1 - p1)), atol=1e-4)
    assert r['AI'].item() == 100 and r['AD'].item() == 0
    # the single-metric functions agree with the combined one
    assert torch.allclose(M.average_gain(MeanNet(), ONES, HALF, 1), r['AG'])
    assert torch.allclose(M.average_increase(MeanNet(), ONES, HALF, 1), r['AI'])
    assert M.increase_in_confidence is M.average_increase

def test_ad_is_not_drop_in_confidence():
    "AD divides by the original probability (pytorch-grad-cam's DropInConfidence does not)."
    p, o = sig(2.), sig(1.)
    x = torch.full((1, 3, 4, 4), .5)
    ad = M.average_drop(MeanNet(), x, HALF, 0).item()
    assert ad == pytest.approx(100 * (p - o) / p, abs=1e-4)
    assert abs(ad - 100 * (p - o)) > 1

def test_edge_maps():
    p = sig(4.)
    m = MeanNet()
    # constant map 0.5: the mean halves, as with the half map
    assert M.average_drop(m, ONES, torch.full((1, 4, 4), .5), 0).item() == pytest.approx(100 * (p - sig(2.)) / p, abs=1e-4)
    # all-zeros map: a black image, mean 0, p0 = 1/2
    assert M.average_drop(m, ONES, torch.zeros(1, 4, 4), 0).item() == pytest.approx(100 * (p - .5) / p, abs=1e-4)
    # p = 1 exactly: AG is 0, not NaN
    ag = M.average_gain(MeanNet(w=1000.), ONES, HALF, 0)
    assert torch.isfinite(ag).all() and ag.item() == 0

def test_all_ones_map_changes_nothing(net, batch):
    x, _ = batch
    for v in M.ad_ai_ag(net, x, torch.ones(5, 16, 16)).values(): assert (v == 0).all()

def test_top_nu(net, batch):
    x, sal = batch
    xs, m4 = torch.ones(1, 3, 2, 2), torch.tensor([[[1., .5], [.25, .25]]])
    p = sig(4.)
    assert M.average_drop(MeanNet(), xs, m4, 0, nu=50).item() == pytest.approx(100 * (p - sig(1.5)) / p, abs=1e-4)
    assert M.average_drop(MeanNet(), xs, m4, 0, nu=25).item() == pytest.approx(100 * (p - sig(1.)) / p, abs=1e-4)
    a15, a100 = M.average_drop(net, x, sal, nu=15), M.average_drop(net, x, sal)
    assert a15.shape == a100.shape == (5,) and not torch.allclose(a15, a100)
    with pytest.raises(ValueError, match='percentage'): M.average_drop(net, x, sal, nu=150)

def test_drop_inc_win_by_hand():
    p, o = sig(4.), sig(2.)
    r = M.drop_inc_win(MeanNet(), ONES.expand(2, 3, 4, 4), torch.cat([HALF, HALF]), torch.tensor([0, 1]))
    assert r['Drop'][0].item() == pytest.approx(100 * (p - o) / p, abs=1e-4) and r['Drop'][1].isnan()
    assert r['Inc'][1].item() == pytest.approx(100 * ((1 - o) - (1 - p)) / (1 - o), abs=1e-4) and r['Inc'][0].isnan()
    assert r['Win'].tolist() == [0., 100.]
    # DataFrame means skip the NaN: Drop over the D dropping images only
    df = pd.DataFrame({k: v.numpy() for k, v in r.items()})
    assert df['Drop'].mean() == pytest.approx(100 * (p - o) / p, abs=1e-4)

# ---- insertion / deletion: thesis Algorithms 1-2

def test_insertion_deletion_by_hand():
    x1, m4 = torch.ones(1, 3, 2, 2), torch.tensor([[[1., .5], [.25, .25]]])
    d = [sig(4 * (1 - k / 4)) for k in range(5)]
    auc, cur = M.deletion(MeanNet(), x1, m4, 0, step=1, return_curves=True)
    assert torch.allclose(cur[0], t(*d), atol=1e-6)
    assert auc.item() == pytest.approx(100 * (sum(d) - d[0] / 2 - d[-1] / 2) / 4, abs=1e-4)
    auc, cur = M.insertion(MeanNet(), x1, m4, 0, step=1, substrate=torch.zeros_like, return_curves=True)
    assert torch.allclose(cur[0], t(*d[::-1]), atol=1e-6)
    # step 3 on 4 pixels: two steps (3 pixels, then 1) at x = 0, 1/2, 1
    assert M.deletion(MeanNet(), x1, m4, 0, step=3).item() == pytest.approx(100 * (sig(4.) / 2 + sig(1.) + sig(0.) / 2) / 2, abs=1e-4)

def test_insertion_starts_from_rise_blur():
    from scipy.ndimage import convolve
    x = torch.ones(1, 3, 8, 8)
    _, cur = M.insertion(MeanNet(), x, torch.rand(1, 8, 8), 0, step=64, return_curves=True)
    k = M.gkern(11, 5.).numpy()
    blurred_mean = convolve(np.ones((8, 8)), k, mode='constant').mean()  # zero padding
    assert cur[0, 0].item() == pytest.approx(sig(4 * blurred_mean), abs=1e-6)
    assert cur[0, -1].item() == pytest.approx(sig(4.), abs=1e-6)

def test_order_follows_the_map():
    xb = torch.zeros(1, 3, 2, 2); xb[..., 0, 0] = 1
    first, last = torch.tensor([[[1., .5], [.4, .3]]]), torch.tensor([[[0., .5], [.4, .3]]])
    assert M.deletion(MeanNet(), xb, first, 0, step=1) < M.deletion(MeanNet(), xb, last, 0, step=1)

def test_default_step_is_one_row(net, batch):
    x, sal = batch
    _, cur = M.deletion(net, x[:1], sal[:1], return_curves=True)
    assert cur.shape == (1, 17)  # 16 rows of 16 pixels + the start

# ---- AGF perturbation, AOPC

def test_perturbation_by_hand():
    x1, m4 = torch.ones(1, 3, 2, 2), torch.tensor([[[1., .5], [.25, .25]]])
    auc, cur = M.perturbation_auc(MeanNet(b=.4), x1, m4, 0, steps=(.25, .5, .75), return_curves=True)
    assert cur.tolist() == [[1., 1., 0.]] and auc.item() == pytest.approx(37.5)
    # the label, not the explained class, decides the hit
    assert M.perturbation_auc(MeanNet(b=.4), x1, m4, 0, label=1, steps=(.25, .5, .75)).item() == pytest.approx(12.5)
    xb = torch.zeros(1, 3, 2, 2); xb[..., 0, 0] = 1
    first = torch.tensor([[[1., .5], [.4, .3]]])
    assert M.positive_perturbation(MeanNet(b=.1), xb, first, 0, steps=(.25, .5, .75)).item() == 0
    assert M.negative_perturbation(MeanNet(b=.1), xb, first, 0, steps=(.25, .5, .75)).item() == 50

def test_aopc_by_hand():
    x4 = torch.ones(1, 3, 4, 4)
    m = torch.zeros(1, 4, 4); m[:, :2, :2] = 1; m[:, 2:, 2:] = .5
    v, cur = M.aopc(MeanNet(), x4, m, 0, patch=2, regions=2, return_curves=True)
    pk = [sig(4.), sig(3.), sig(2.)]
    assert torch.allclose(cur[0], t(*pk), atol=1e-6)
    assert v.item() == pytest.approx(100 * sum(pk[0] - q for q in pk) / 3, abs=1e-4)
    # least relevant first removes zero-relevance patches first
    v2 = M.aopc(MeanNet(), x4, m, 0, patch=2, regions=2, order='lerf')
    assert v2.item() == pytest.approx(v.item(), abs=1e-4)  # same pixels removed count on a uniform image
    with pytest.raises(ValueError, match='non-overlapping'): M.aopc(MeanNet(), x4, m, 0, patch=2, regions=5)
    with pytest.raises(ValueError, match='morf'): M.aopc(MeanNet(), x4, m, 0, patch=2, regions=2, order='random')

def test_aopc_uniform_fill_is_seeded(net, batch):
    x, sal = batch
    a = M.aopc(net, x, sal, patch=4, regions=4, fill='uniform', seed=1)
    assert torch.equal(a, M.aopc(net, x, sal, patch=4, regions=4, fill='uniform', seed=1))
    assert not torch.equal(a, M.aopc(net, x, sal, patch=4, regions=4, fill='uniform', seed=2))

# ---- ADCC, max-sensitivity

def test_coherency_complexity_adcc():
    x4 = torch.ones(1, 3, 4, 4)
    m = torch.zeros(1, 4, 4); m[:, :2, :2] = 1; m[:, 2:, 2:] = .5
    fixed = lambda xx, tt: m.expand(len(xx), 4, 4)
    assert M.coherency(MeanNet(), x4, m, 0, fixed).item() == pytest.approx(100)
    assert M.complexity(MeanNet(), x4, m).item() == pytest.approx(100 * 6 / 16)
    d = M.adcc(MeanNet(), x4, m, 0, fixed, parts=True)
    coh, com, ad = 1., 6 / 16, (sig(4.) - sig(4 * 6 / 16)) / sig(4.)
    assert d['ADCC'].item() == pytest.approx(300 / (1 / coh + 1 / (1 - com) + 1 / (1 - ad)), abs=1e-3)
    assert M.adcc(MeanNet(), x4, torch.ones(1, 4, 4), 0, fixed).item() == 0  # complexity 1
    const = lambda xx, tt: torch.full((len(xx), 4, 4), .3)
    assert M.coherency(MeanNet(), x4, m, 0, const).item() == 0  # a constant map has no correlation

def test_coherency_pearson():
    g = torch.Generator().manual_seed(1)
    x = torch.rand(1, 3, 6, 6, generator=g)
    s0 = x.mean(1)
    r = np.corrcoef((x * s0[:, None]).mean(1).flatten().numpy(), s0.flatten().numpy())[0, 1]
    assert M.coherency(MeanNet(), x, s0, 0, lambda xx, tt: xx.mean(1)).item() == pytest.approx(100 * (r + 1) / 2, abs=1e-4)

def test_max_sensitivity():
    g = torch.Generator().manual_seed(2)
    x = torch.rand(2, 3, 6, 6, generator=g)
    s0 = x.mean(1)
    cm = lambda xx, tt: xx.mean(1)
    ms = M.max_sensitivity(MeanNet(), x, s0, 0, cm, radius=.1, n_samples=5, seed=3)
    bound = .1 * 6 / s0.flatten(1).norm(dim=1)  # |channel mean of δ| <= r at each of the 36 pixels
    assert ((ms > 0) & (ms <= bound + 1e-6)).all()
    assert torch.equal(ms, M.max_sensitivity(MeanNet(), x, s0, 0, cm, radius=.1, n_samples=5, seed=3))
    assert not torch.equal(ms, M.max_sensitivity(MeanNet(), x, s0, 0, cm, radius=.1, n_samples=5, seed=4))
    # seeded per image index: the second image alone, with its index, gets the same value
    assert torch.allclose(ms[1:], M.max_sensitivity(MeanNet(), x[1:], s0[1:], 0, cm, radius=.1, n_samples=5, seed=3, index=[1]))
    assert M.max_sensitivity(MeanNet(), x, s0, 0, lambda xx, tt: s0, n_samples=3).eq(0).all()
    with pytest.raises(ValueError, match='needs the explainer'): M.max_sensitivity(MeanNet(), x, s0, 0)

# ---- batch independence, chunking, state, bad input

DETERMINISTIC = {
    'ad_ai_ag': M.ad_ai_ag, 'ad15': partial(M.average_drop, nu=15), 'insertion': partial(M.insertion, step=64),
    'deletion': partial(M.deletion, step=64), 'aopc': partial(M.aopc, patch=4, regions=3),
    'pos': partial(M.positive_perturbation, steps=(.2, .5, .8)), 'complexity': M.complexity,
    'drop_inc_win': M.drop_inc_win}

def _values(r): return torch.stack(list(r.values())) if isinstance(r, dict) else r[None]

@pytest.mark.parametrize('name', list(DETERMINISTIC))
def test_batch_independence_and_chunking(net, batch, name):
    x, sal = batch
    f = DETERMINISTIC[name]
    targ = torch.tensor([1, 2, 3, 4, 5])
    full = _values(f(net, x, sal, targ))
    alone = torch.cat([_values(f(net, x[i:i + 1], sal[i:i + 1], targ[i:i + 1])) for i in range(5)], 1)
    kw = {} if name == 'complexity' else dict(batch_size=3)
    chunked = _values(f(net, x, sal, targ, **kw))
    for other in (alone, chunked):
        assert torch.allclose(full, other, atol=1e-3, equal_nan=True), (name, full, other)

def test_model_state_and_inputs_left_alone(net, batch):
    x, sal = batch
    x0, s0 = x.clone(), sal.clone()
    net.train()
    grads = [p.requires_grad for p in net.parameters()]
    try:
        M.ad_ai_ag(net, x, sal); M.insertion(net, x[:1], sal[:1], step=128); M.aopc(net, x[:1], sal[:1], patch=4, regions=2)
        M.max_sensitivity(net, x[:1], sal[:1], explainer=GradCAM(net), n_samples=1)
        with pytest.raises(ValueError): M.average_drop(net, x, sal, target=99)
        assert net.training and all(m.training for m in net.modules())
        assert [p.requires_grad for p in net.parameters()] == grads
    finally: net.eval()
    assert torch.equal(x, x0) and torch.equal(sal, s0)

BAD = [
    (lambda x, s: (x, s[:, :8]), "at the image's resolution"),
    (lambda x, s: (x, s[:3]), "at the image's resolution"),
    (lambda x, s: (x, s[0]), 'B×H×W'),
    (lambda x, s: (x, s.masked_fill(s > .5, float('nan'))), 'non-finite'),
    (lambda x, s: (x.masked_fill(x > .9, float('inf')), s), 'non-finite'),
    (lambda x, s: (x[:, :2], s), 'channels'),
    (lambda x, s: (x[0], s), '4 dims'),
]

@pytest.mark.parametrize('i', range(len(BAD)))
@pytest.mark.parametrize('f', [M.average_drop, M.insertion, M.aopc, M.perturbation_auc, M.drop_inc_win])
def test_bad_input(net, batch, i, f):
    make, msg = BAD[i]
    x, s = make(*batch)
    with pytest.raises(ValueError, match=msg): f(net, x, s)

@pytest.mark.parametrize('target,msg', [(10, 'out of range'), ([1, 2], 'got 2 targets for 5 images'), (-1, 'out of range')])
@pytest.mark.parametrize('f', [M.average_drop, M.deletion, partial(M.aopc, patch=4, regions=2), M.perturbation_auc])
def test_bad_targets(net, batch, target, msg, f):
    x, sal = batch
    with pytest.raises(ValueError, match=msg): f(net, x, sal, target)

def test_masks_must_be_in_unit_range(net, batch):
    x, sal = batch
    with pytest.raises(ValueError, match=r'\[0,1\]'): M.average_drop(net, x, sal * 2 - 1)
    # order-only metrics accept signed maps
    assert M.perturbation_auc(net, x, sal * 2 - 1).shape == (5,)

# ---- noise, evaluate, stability

def test_salt_pepper():
    x = torch.rand(3, 3, 10, 10)
    xn = M.salt_pepper(x, .3, seed=5)
    hit = (xn != x).any(1)
    assert hit.flatten(1).sum(1).tolist() == [30] * 3
    assert ((xn == 0) | (xn == 1))[hit[:, None].expand_as(xn)].all()
    assert torch.equal(xn, M.salt_pepper(x, .3, seed=5)) and not torch.equal(xn, M.salt_pepper(x, .3, seed=6))
    assert torch.equal(M.salt_pepper(x[1:], .3, seed=5, index=[1, 2]), xn[1:])
    with pytest.raises(ValueError, match='fraction'): M.salt_pepper(x, 1.5)
    with pytest.raises(ValueError, match='4 dims'): M.salt_pepper(x[0], .3)
    with pytest.raises(ValueError, match='non-finite'): M.salt_pepper(x.masked_fill(x > .9, float('nan')), .3)
    with pytest.raises(ValueError, match='got 1 indices for 3 images'): M.salt_pepper(x, .3, index=[0])

def test_bad_index_and_target_elsewhere(net, batch):
    x, sal = batch
    with pytest.raises(ValueError, match='got 1 indices for 5 images'): M.aopc(net, x, sal, patch=4, regions=2, fill='uniform', index=[0])
    with pytest.raises(ValueError, match='got 1 indices for 5 images'):
        M.max_sensitivity(net, x, sal, explainer=lambda x, t: sal[:len(x)], index=[0])
    with pytest.raises(ValueError, match='out of range'): M.complexity(net, x, sal, target=-5)
    with pytest.raises(ValueError, match='got 2 targets'): M.complexity(net, x, sal, target=[1, 2])
    with pytest.raises(ValueError, match='must be non-negative'): M.deletion(net, x, sal, target=-1)
    # a bad x is named as such, before the maps are compared with it
    with pytest.raises(ValueError, match='4 dims'): M.drop_inc_win(net, x[0], sal, threshold=.5)

def _synthetic(n=6):
    try:
        from xai_repro.data import synth_shapes
        d = synth_shapes(n, size=32, n_classes=10, seed=0)
        return d['x'].float(), torch.as_tensor(d['y']).long()
    except ImportError:
        g = torch.Generator().manual_seed(0)
        return torch.rand(n, 3, 32, 32, generator=g), torch.arange(n) % 10

def test_evaluate_gradcam(net):
    x, y = _synthetic()
    mets = ['ad_ai_ag', {'15%': partial(M.ad_ai_ag, nu=15)}, partial(M.deletion, step=256), 'adcc',
            'drop_inc_win', {'negative_perturbation': partial(M.negative_perturbation, steps=(.3, .6, .9))}]
    df = M.evaluate(net, (x, y), 'gradcam', mets, batch_size=4, progress=False, timing=True)
    assert len(df) == len(x) and df['index'].tolist() == list(range(len(x)))
    assert df['label'].tolist() == y.tolist() and df['target'].tolist() == y.tolist()
    for c in ['AD', 'AI', 'AG', 'AD(15%)', 'AI(15%)', 'AG(15%)', 'deletion(step=256)', 'adcc', 'Drop', 'Inc', 'Win',
              'negative_perturbation', 'time']: assert c in df.columns, c
    assert df[['AD', 'AG', 'adcc', 'Win', 'negative_perturbation']].notna().all().all()
    sal = GradCAM(net)(x, y)
    assert np.allclose(df['AD'], M.average_drop(net, x, sal, y).numpy(), atol=1e-3)
    # the same rows with another batching, from a Dataset and from a DataLoader
    ds = torch.utils.data.TensorDataset(x, y)
    for data in (ds, torch.utils.data.DataLoader(ds, batch_size=5)):
        d2 = M.evaluate(net, data, GradCAM(net), ['ad'], batch_size=3, progress=False)
        assert np.allclose(d2['ad'].values, df['AD'].values, atol=1e-3)

def test_evaluate_pred_and_errors(net):
    x, y = _synthetic(4)
    df = M.evaluate(net, (x,), 'gradcam', ['ad'], target='pred', progress=False)
    assert df['target'].tolist() == net(x).argmax(1).tolist() and 'label' not in df.columns
    with pytest.raises(ValueError, match="needs labels"): M.evaluate(net, (x,), 'gradcam', ['ad'], progress=False)
    with pytest.raises(ValueError, match='unknown explainer'): M.evaluate(net, (x, y), 'nosuchcam', ['ad'], progress=False)
    with pytest.raises(ValueError, match='unknown metric'): M.evaluate(net, (x, y), 'gradcam', ['nosuchmetric'], progress=False)
    with pytest.raises(ValueError, match='needs the explainer'):
        M.evaluate(net, (x, y), GradCAM(net)(x, y), ['coherency'], progress=False)
    with pytest.raises(ValueError, match='got 1 labels for 4 images'): M.evaluate(net, (x, y[:1]), 'gradcam', ['ad'], progress=False)
    with pytest.raises(ValueError, match='got 6 labels for 4 images'):
        M.evaluate(net, (x, torch.arange(6)), 'gradcam', ['ad'], progress=False)
    with pytest.raises(ValueError, match='holds 2 maps'):
        M.evaluate(net, (x, y), GradCAM(net)(x, y)[:2], ['ad'], batch_size=2, progress=False)

def test_stability(net):
    x, y = _synthetic(4)
    st = M.stability(net, (x, y), 'gradcam', noise=(.2,), progress=False)
    assert st['noise'].tolist() == [0, .2] and list(st.columns) == ['noise', 'Drop', 'Inc', 'Win', 'CD', 'CI']
    assert st.loc[1, 'CD'] == pytest.approx(abs(st.loc[1, 'Drop'] - st.loc[0, 'Drop']), nan_ok=True)
