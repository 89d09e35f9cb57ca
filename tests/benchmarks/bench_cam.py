"""Score-CAM and Ablation-CAM speed, measured side by side in one run (run by hand, not by pytest).

    .venv/bin/python tests/benchmarks/bench_cam.py [--arch resnet50] [--size 224] [--n 1] [--bs 32] [--methods Score-CAM Ablation-CAM]

Prints, per method: our time, the time of the bare forward passes the method must make (same inputs, same
batching, nothing else), pytorch-grad-cam's time at equal output, and the ratios the issue sets targets for
(ours/bare <= 1.25, pytorch-grad-cam/ours >= 1.8).
"""
import argparse, os, time
os.environ.setdefault('HF_HUB_OFFLINE', '1')
import torch
import pytorch_grad_cam as pgc
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from xai_repro.core import set_seed, find_layer, minmax, upsample
from xai_repro.models import load_model, default_layer
from xai_repro.cam import ScoreCAM, AblationCAM, suffix

def timed(f):
    t = time.perf_counter(); out = f(); return out, time.perf_counter() - t

def pearson(a, b):
    a, b = a.flatten(1).double(), b.flatten(1).double()
    a, b = a - a.mean(1, keepdim=True), b - b.mean(1, keepdim=True)
    return ((a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1)).clamp_min(1e-30)).tolist()

def main():
    p = argparse.ArgumentParser()
    p.add_argument('--arch', default='resnet50'); p.add_argument('--size', type=int, default=224)
    p.add_argument('--n', type=int, default=1); p.add_argument('--bs', type=int, default=32)
    p.add_argument('--pretrained', action='store_true', help='real weights (mobilenet_v2 only, offline)')
    p.add_argument('--methods', nargs='+', default=['Score-CAM', 'Ablation-CAM'], choices=['Score-CAM', 'Ablation-CAM'])
    a = p.parse_args()
    set_seed(0)
    model = load_model(a.arch, pretrained=a.pretrained)
    layer = find_layer(model, default_layer(model))
    x = torch.rand(a.n, 3, a.size, a.size)
    if a.pretrained:
        from xai_repro.data import load_photos
        x = load_photos(a.size)[0][:a.n]
    with torch.no_grad(): targ = model(x).argmax(1)
    acts = {}
    h = layer.register_forward_hook(lambda m, i, o: acts.update(a=o)); 
    with torch.no_grad(): model(x)
    h.remove()
    A = acts['a']
    K = A.shape[1]
    live = [(A[b].flatten(1).amax(1) - A[b].flatten(1).amin(1) > 1e-12).sum().item() for b in range(a.n)]
    print(f"{a.arch} {a.size}px, {a.n} image(s), batch {a.bs}, {torch.get_num_threads()} threads; layer {default_layer(model)}: "
          f"{K} channels, non-constant per image {live}")

    def bare_score():  # the forwards Score-CAM must make: the first pass, the black image, one masked image per live channel
        with torch.no_grad():
            model(x); model(torch.zeros_like(x[:1]))
            for b in range(a.n):
                ks = (A[b].flatten(1).amax(1) - A[b].flatten(1).amin(1) > 1e-12).nonzero().flatten()
                m = minmax(upsample(A[b, ks], x.shape[-2:]))
                imgs = x[b] * m[:, None]
                for i in range(0, len(ks), a.bs): model(imgs[i:i + a.bs])
    def bare_ablation():  # the suffix passes Ablation-CAM must make: one ablated copy of the feature maps per channel
        run = suffix(model, layer)
        with torch.no_grad():
            model(x)
            for b in range(a.n):
                for i in range(0, K, a.bs):
                    ks = torch.arange(i, min(i + a.bs, K))
                    c = A[b].expand(len(ks), *A.shape[1:]).clone(); c[torch.arange(len(ks)), ks] = 0
                    run(c)

    for name, ours_cls, theirs_cls, bare in [('Score-CAM', ScoreCAM, pgc.ScoreCAM, bare_score),
                                             ('Ablation-CAM', AblationCAM, pgc.AblationCAM, bare_ablation)]:
        if name not in a.methods: continue
        _, t_bare = timed(bare)
        ours, t_ours = timed(lambda: ours_cls(model, batch_size=a.bs)(x, targ))
        def theirs():
            with theirs_cls(model=model, target_layers=[layer]) as c:
                c.batch_size = a.bs
                return torch.from_numpy(c(input_tensor=x, targets=[ClassifierOutputTarget(int(t)) for t in targ]))
        ref, t_ref = timed(theirs)
        print(f"{name:13s} ours {t_ours:7.2f}s | bare passes {t_bare:7.2f}s | pytorch-grad-cam {t_ref:7.2f}s | "
              f"ours/bare {t_ours / t_bare:5.2f} (target <= 1.25) | pgc/ours {t_ref / t_ours:5.2f} (target >= 1.8) | "
              f"Pearson with pgc {[round(r, 4) for r in pearson(ours, ref)]}")

if __name__ == '__main__': main()
