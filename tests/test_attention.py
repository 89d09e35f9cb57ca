"Attention explainers (raw attention, rollout, Transformer Attribution, chefer2021b) and the CAM family on timm ViT/DeiT."
import pytest, torch, timm
import pytorch_grad_cam as pgc
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from xai_repro.core import set_seed, ModelGuard
from xai_repro.models import with_normalization, default_layer, load_model
from xai_repro.explainer import METHODS
from xai_repro import cam as xcam
from xai_repro.attention import (RawAttention, AttentionRollout, TransformerAttribution, GenericAttention,
                                 attention_maps, rollout, vit_relevance, vit_network)

ATTN = {'rawattention': RawAttention, 'rollout': AttentionRollout,
        'transformer-attribution': TransformerAttribution, 'chefer2021b': GenericAttention}
CLASS_SPECIFIC = ('transformer-attribution', 'chefer2021b')

@pytest.fixture(scope='module')
def nets():
    set_seed(0)
    return {n: with_normalization(timm.create_model(n, num_classes=10)).eval()
            for n in ('vit_tiny_patch16_224', 'deit_tiny_patch16_224')}

@pytest.fixture(scope='module')
def x():
    g = torch.Generator().manual_seed(1)
    return torch.rand(2, 3, 224, 224, generator=g)

def state(m):
    "Everything an explainer could leave changed on a model."
    return ([b.attn.fused_attn for b in m.inner.blocks], [p.requires_grad for p in m.parameters()],
            [mm.training for mm in m.modules()],
            [(len(mm._forward_hooks), len(mm._forward_pre_hooks), len(mm._backward_hooks)) for mm in m.modules()])

def test_registry():
    for name, cls in ATTN.items(): assert METHODS[name] is cls

@pytest.mark.parametrize('arch', ['vit_tiny_patch16_224', 'deit_tiny_patch16_224'])
@pytest.mark.parametrize('name', list(ATTN))
def test_shapes_grid_to_input(nets, x, arch, name):
    e = ATTN[name](nets[arch], scale=False)
    with e: raw = e.attribute(x, None)
    assert raw.shape == (2, 14, 14) and torch.isfinite(raw).all()
    sal = ATTN[name](nets[arch])(x)
    assert sal.shape == (2, 224, 224) and sal.dtype == torch.float32
    assert torch.allclose(sal.flatten(1).amax(1), torch.ones(2)) and torch.allclose(sal.flatten(1).amin(1), torch.zeros(2))

def test_captured_attention_is_the_models(nets, x):
    m = nets['deit_tiny_patch16_224']
    qkv = {}
    hs = [b.attn.qkv.register_forward_hook(lambda mod, i, o, k=k: qkv.update({k: o})) for k, b in enumerate(m.inner.blocks)]
    try:
        with torch.no_grad():
            fused = m(x)
            with attention_maps(m) as A: unfused = m(x)
    finally:
        for h in hs: h.remove()
    torch.testing.assert_close(unfused, fused, atol=1e-5, rtol=1e-4)
    q, k, _ = qkv[7].reshape(2, 197, 3, 3, 64).permute(2, 0, 3, 1, 4)
    torch.testing.assert_close(A[7], (q @ k.transpose(-2, -1) * 64 ** -0.5).softmax(-1), atol=1e-6, rtol=1e-5)

def test_rollout_of_identity_attention_is_uniform():
    eye = torch.eye(197).expand(2, 3, 197, 197)
    row = rollout([eye] * 12)[:, 0, 1:]
    assert torch.equal(row, torch.zeros(2, 196))
    row = rollout([eye] * 12, head_fusion='max', discard_ratio=0.5)[:, 0, 1:]
    assert torch.equal(row, torch.zeros(2, 196))

def test_uniform_attention_model_gives_uniform_maps(nets, x):
    m = with_normalization(timm.create_model('vit_tiny_patch16_224', num_classes=10)).eval()
    with torch.no_grad():
        for b in m.inner.blocks: b.attn.qkv.weight[:2 * 192] = 0; b.attn.qkv.bias[:2 * 192] = 0  # Q = K = 0: A = 1/N
    for E in (RawAttention, AttentionRollout):
        with E(m, scale=False) as e: raw = e.attribute(x, None)
        torch.testing.assert_close(raw, raw[:, :1, :1].expand_as(raw), atol=0, rtol=1e-5)
    assert torch.equal(RawAttention(m)(x), torch.zeros(2, 224, 224))

@pytest.mark.parametrize('name', list(ATTN))
def test_class_specificity(nets, x, name):
    m = nets['vit_tiny_patch16_224']
    a, b = ATTN[name](m)(x, 1), ATTN[name](m)(x, 6)
    if name in CLASS_SPECIFIC: assert ((a - b).abs().flatten(1).amax(1) > 0.05).all(), name
    else: assert torch.equal(a, b), name

@pytest.mark.parametrize('name', list(ATTN))
def test_batch_independence(nets, x, name):
    m = nets['deit_tiny_patch16_224']
    both = ATTN[name](m)(x, [2, 7])
    torch.testing.assert_close(both[1:], ATTN[name](m)(x[1:], 7), atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(both[:1], ATTN[name](m, batch_size=1)(x, [2, 7])[:1], atol=1e-4, rtol=1e-4)

@pytest.mark.parametrize('name', list(ATTN))
def test_model_restored_after_call_and_error(nets, x, name):
    m = nets['vit_tiny_patch16_224']
    m.train()
    m.inner.blocks[2].attn.fused_attn = False          # a user's own mixed settings
    m.inner.blocks[4].mlp.fc1.weight.requires_grad_(False)
    user = m.inner.blocks[5].register_forward_hook(lambda *a: None)  # a user's own hook stays
    try:
        before = state(m)
        ATTN[name](m)(x[:1]); assert state(m) == before
        with pytest.raises(ValueError, match='out of range'): ATTN[name](m)(x[:1], 10)     # fails after the forward pass
        assert state(m) == before
        with pytest.raises(Exception): ATTN[name](m)(torch.rand(1, 3, 64, 64))           # fails inside the forward pass
        assert state(m) == before
        assert m.inner.blocks[2].attn.fused_attn is False and m.inner.blocks[3].attn.fused_attn is True
    finally:
        user.remove(); m.eval(); m.inner.blocks[2].attn.fused_attn = True
        m.inner.blocks[4].mlp.fc1.weight.requires_grad_(True)

def test_relevance_is_conserved(nets, x):
    m = nets['deit_tiny_patch16_224']
    with ModelGuard(m, False, False): r = vit_relevance(m, x, [4, 9])
    for Rt in r['rel_tokens']: torch.testing.assert_close(Rt.sum((1, 2)), torch.ones(2), atol=1e-3, rtol=0)
    assert len(r['rel_attn']) == 12 and r['rel_attn'][0].shape == (2, 3, 197, 197)

@pytest.mark.parametrize('name', list(CLASS_SPECIFIC))
def test_differentiable_mode(nets, x, name):
    m = nets['vit_tiny_patch16_224']
    xx = x[:1].clone().requires_grad_(True)
    sal = ATTN[name](m, create_graph=True)(xx, 3)
    assert sal.requires_grad
    g, = torch.autograd.grad(sal.sum(), xx)
    assert torch.isfinite(g).all() and g.abs().sum() > 0

def test_rollout_options(nets, x):
    m = nets['vit_tiny_patch16_224']
    base = AttentionRollout(m)(x)
    for kw in (dict(head_fusion='max'), dict(head_fusion='min'), dict(discard_ratio=0.9), dict(start_layer=6)):
        s = AttentionRollout(m, **kw)(x)
        assert s.shape == (2, 224, 224) and not torch.equal(s, base), kw

def test_bad_input(nets, x):
    m = nets['vit_tiny_patch16_224']
    for E in ATTN.values():
        with pytest.raises(ValueError, match='timm ViT/DeiT'): E(load_model('resnet18_small', width=8))
        with pytest.raises(ValueError, match='non-finite'): E(m)(torch.full((1, 3, 224, 224), float('nan')))
        with pytest.raises(ValueError, match='out of range'): E(m)(x, [0, 12])
    with pytest.raises(ValueError, match='head_fusion'): RawAttention(m, head_fusion='sum')
    with pytest.raises(ValueError, match='discard_ratio'): AttentionRollout(m, discard_ratio=1.0)
    with pytest.raises(ValueError, match='start_layer'): GenericAttention(m, start_layer=12)
    avg = timm.create_model('vit_tiny_patch16_224', num_classes=10, class_token=False, global_pool='avg')
    with pytest.raises(ValueError, match='class token'): vit_network(avg)

def test_distilled_deit():
    set_seed(0)
    m = with_normalization(timm.create_model('deit_tiny_distilled_patch16_224', num_classes=10)).eval()
    xx = torch.rand(1, 3, 224, 224)
    with RawAttention(m, scale=False) as e: assert e.attribute(xx, None).shape == (1, 14, 14)  # two prefix tokens dropped
    assert GenericAttention(m)(xx).shape == (1, 224, 224)
    with pytest.raises(ValueError, match='distilled'): TransformerAttribution(m)

CAMS = ['gradcam', 'gradcam++', 'xgradcam', 'hirescam', 'layercam']

def check_cam(m, name, xs, **kw):
    assert default_layer(m) == 'blocks.11.norm1'
    e = METHODS[name](m, **kw)
    assert e.layer is m.inner.blocks[11].norm1
    before = state(m)
    sal = e(xs, 3)
    assert sal.shape == (len(xs), 224, 224) and torch.isfinite(sal).all() and sal.min() >= 0 and sal.max() <= 1
    assert state(m) == before

@pytest.mark.parametrize('arch', ['vit_tiny_patch16_224', 'deit_tiny_patch16_224'])
@pytest.mark.parametrize('name', CAMS)
def test_cams_on_vit_default_layer(nets, x, arch, name): check_cam(nets[arch], name, x)

def test_scorecam_on_vit_default_layer(x):
    "Score-CAM forwards one masked copy per channel: a 48-channel ViT with ViT-Tiny's 12-block layout keeps it quick."
    set_seed(0)
    m = with_normalization(timm.create_model('vit_tiny_patch16_224', num_classes=10, embed_dim=48, num_heads=3)).eval()
    check_cam(m, 'scorecam', x[:1], batch_size=16)

def test_gradcam_on_vit_agrees_with_pytorch_grad_cam(nets, x):
    m = nets['deit_tiny_patch16_224']
    ours = xcam.GradCAM(m)(x, [3, 3])
    def reshape(t): return t[:, 1:].reshape(t.shape[0], 14, 14, t.shape[2]).permute(0, 3, 1, 2)
    with pgc.GradCAM(model=m, target_layers=[m.inner.blocks[11].norm1], reshape_transform=reshape) as c:
        theirs = torch.from_numpy(c(input_tensor=x, targets=[ClassifierOutputTarget(3)] * 2))
    a, b = ours.flatten(1).double(), theirs.flatten(1).double()
    a, b = a - a.mean(1, keepdim=True), b - b.mean(1, keepdim=True)
    r = (a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1))
    assert (r >= 0.99).all(), r.tolist()
