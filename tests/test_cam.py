"The CAM family agrees with pytorch-grad-cam (per-image Pearson >= 0.99 at input resolution)."
import numpy as np, pytest, torch
import pytorch_grad_cam as pgc
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from xai_repro.core import set_seed, find_layer
from xai_repro.models import load_model, default_layer
from xai_repro import cam as xcam

PAIRS = {'gradcam': (xcam.GradCAM, pgc.GradCAM), 'gradcam++': (xcam.GradCAMPlusPlus, pgc.GradCAMPlusPlus),
         'xgradcam': (xcam.XGradCAM, pgc.XGradCAM), 'hirescam': (xcam.HiResCAM, pgc.HiResCAM),
         'layercam': (xcam.LayerCAM, pgc.LayerCAM), 'scorecam': (xcam.ScoreCAM, pgc.ScoreCAM),
         'ablationcam': (xcam.AblationCAM, pgc.AblationCAM)}

def pearson(a, b):
    a, b = a.flatten(1).double(), b.flatten(1).double()
    a, b = a - a.mean(1, keepdim=True), b - b.mean(1, keepdim=True)
    den = a.norm(dim=1) * b.norm(dim=1)
    return torch.where(den > 0, (a * b).sum(1) / den.clamp_min(1e-30), torch.ones_like(den))

def agree(model, x, name, targets, **kw):
    ours_cls, theirs_cls = PAIRS[name]
    layer = find_layer(model, default_layer(model))
    if name == 'scorecam': kw['align_corners'] = True  # pytorch-grad-cam's mask upsampling (ours defaults to the authors')
    ours = ours_cls(model, **kw)(x, targets)
    extra = {'batch_size': 64} if name in ('scorecam', 'ablationcam') else {}
    with theirs_cls(model=model, target_layers=[layer]) as c:
        if extra: c.batch_size = extra['batch_size']
        theirs = torch.from_numpy(c(input_tensor=x, targets=[ClassifierOutputTarget(int(t)) for t in targets]))
    both_blank = (ours.flatten(1).amax(1) == 0) & (theirs.flatten(1).amax(1) < 1e-6)
    r = pearson(ours, theirs)
    assert ((r >= 0.99) | both_blank).all(), f'{name}: per-image Pearson {r.tolist()}'
    return r

@pytest.fixture(scope='module')
def random_nets():
    set_seed(0)
    return {n: load_model(n, num_classes=20) for n in ('resnet18', 'vgg11')}

@pytest.mark.parametrize('arch', ['resnet18', 'vgg11'])
@pytest.mark.parametrize('name', list(PAIRS))
def test_agrees_with_pytorch_grad_cam_random(random_nets, arch, name):
    set_seed(1)
    n = 1 if name in ('scorecam', 'ablationcam') else 2  # one image is enough for the many-forward methods
    x = torch.rand(n, 3, 48, 48)
    agree(random_nets[arch], x, name, targets=torch.tensor([3, 11][:n]), batch_size=64)

@pytest.fixture(scope='module')
def mobilenet_photos():
    from xai_repro.data import load_photos
    x, meta = load_photos(128, names=['chelsea', 'coffee'])
    return load_model('mobilenet_v2', pretrained=True), x

@pytest.mark.parametrize('name', ['gradcam', 'gradcam++', 'xgradcam', 'hirescam', 'layercam', 'scorecam', 'ablationcam'])
def test_agrees_with_pytorch_grad_cam_mobilenet(mobilenet_photos, name):
    model, x = mobilenet_photos
    n = 1 if name in ('scorecam', 'ablationcam') else 2  # 1280 channels: one photo for the many-forward methods
    agree(model, x[:n], name, targets=torch.tensor([285, 967][:n]), batch_size=64)

def test_batch_independence(random_nets):
    m = random_nets['resnet18']
    x = torch.rand(3, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    for cls in (xcam.GradCAM, xcam.ScoreCAM, xcam.AblationCAM):
        e = cls(m, batch_size=64)
        # maps in [0,1]: 1e-4 allows the float noise of batch-size-dependent convolution kernels (2e-5 seen on one CPU)
        torch.testing.assert_close(e(x[1:2], 5), e(x, 5)[1:2], atol=1e-4, rtol=1e-4)

def test_class_specific_on_real_model(mobilenet_photos):
    model, x = mobilenet_photos
    cat = xcam.GradCAM(model)(x[:1], 285)
    other = xcam.GradCAM(model)(x[:1], 967)
    assert pearson(cat, other).item() < 0.9

def test_differentiable_mode_trains_through_map():
    m = load_model('resnet18_small', num_classes=10, width=8).train()
    x = torch.rand(2, 3, 32, 32)
    sal = xcam.GradCAM(m, create_graph=True)(x, [1, 2])
    assert sal.requires_grad and m.training
    sal.mean().backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in m.parameters())

def test_inplace_relu_and_reused_module():
    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.relu = torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(inplace=True)
            self.conv2 = torch.nn.Conv2d(4, 4, 3, padding=1); self.fc = torch.nn.Linear(4, 3)
        def forward(self, x):
            a = self.relu(self.conv(x)); b = self.relu(self.conv2(a))   # relu reused, in place
            return self.fc(b.mean((2, 3)))
    net = Net()
    x = torch.rand(2, 3, 16, 16)
    sal = xcam.GradCAM(net, layer='conv2')(x, 0)
    # reference without hooks: conv2's own output and the gradient with respect to it (the in-place ReLU that follows
    # must change neither)
    a = net.relu(net.conv(x)); c = net.conv2(a); y = net.fc(torch.relu(c).mean((2, 3)))
    g, = torch.autograd.grad(y[:, 0].sum(), c)
    from xai_repro.core import minmax
    ref = minmax(torch.relu((g.mean((2, 3), keepdim=True) * c).sum(1))).detach()
    torch.testing.assert_close(sal, ref, atol=1e-5, rtol=1e-4)
