"""L-CAM explanation cost against a bare forward pass of the same network, measured side by side in one run
(run by hand, not by pytest).

    .venv/bin/python tests/benchmarks/bench_lcam.py [--archs mobilenet_v2 resnet50 vgg16] [--size 224] [--bs 8] [--reps 10]

For each network: the median time of `lcam.explain(x)` (maps of the top-1 class, Eq. 9, at the input resolution)
and of `model(x)` under `torch.no_grad()`, alternated call by call so that both see the same machine load, and
their ratio (issue 5: at most 1.2). The attention mechanism is untrained: its cost does not depend on its weights.
"""
import argparse, os, statistics, time
os.environ.setdefault('HF_HUB_OFFLINE', '1')
import torch
from xai_repro.core import set_seed
from xai_repro.models import load_model
from xai_repro.lcam import LCAM

def main():
    p = argparse.ArgumentParser()
    p.add_argument('--archs', nargs='+', default=['mobilenet_v2', 'resnet50', 'vgg16'])
    p.add_argument('--size', type=int, default=224); p.add_argument('--bs', type=int, default=8)
    p.add_argument('--reps', type=int, default=10); p.add_argument('--device', default='cpu')
    a = p.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {a.device}, batch {a.bs} at {a.size} px, median of {a.reps}")
    print(f"{'network':<14}{'variant':<8}{'K×R':>12}{'forward s':>11}{'explain s':>11}{'ratio':>8}")
    for arch in a.archs:
        set_seed(0)
        model = load_model(arch, pretrained=arch == 'mobilenet_v2').to(a.device)
        x = torch.rand(a.bs, 3, a.size, a.size, device=a.device)
        for variant in ('img',):  # the variants differ in training only: inference is the same
            lc = LCAM(model, variant=variant, size=a.size)
            sync = (lambda: torch.cuda.synchronize()) if a.device.startswith('cuda') else (lambda: None)
            def bare():
                with torch.no_grad(): model(x)
            fns, times = {'forward': bare, 'explain': lambda: lc.explain(x)}, {'forward': [], 'explain': []}
            for f in fns.values(): f(); f()  # warm-up
            for _ in range(a.reps):
                for k, f in fns.items():
                    sync(); t = time.perf_counter(); f(); sync(); times[k].append(time.perf_counter() - t)
            fw, ex = statistics.median(times['forward']), statistics.median(times['explain'])
            K, R = lc.attention.in_channels, lc.attention.out_channels
            print(f"{arch:<14}{variant:<8}{f'{K}×{R}':>12}{fw:>11.4f}{ex:>11.4f}{ex / fw:>8.3f}")

if __name__ == '__main__': main()
