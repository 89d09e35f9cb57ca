"""AGF explanation cost against a forward+backward pass of the same network, measured side by side in one run
(run by hand, not by pytest).

    .venv/bin/python tests/benchmarks/bench_agf.py [--archs vgg19 resnet50] [--size 224] [--bs 1] [--reps 5]

For each network (untrained: the cost does not depend on the weights): the median time of one AGF explanation
(`AGF(model)(x)`, top-1 class, map at the input resolution), of LRP (z⁺) on the same graph, and of a training-style
forward+backward (cross-entropy of the logits, gradients of every parameter), alternated call by call so that all see
the same machine load; and their ratios (issue 8: AGF at most 3 forward+backward passes; the issue states the authors'
code costs about 4.7 on VGG-19 and 10 on ResNet-50, which is not measured here: their code needs CUDA).
"""
import argparse, os, statistics, time
os.environ.setdefault('HF_HUB_OFFLINE', '1')
import torch, torch.nn.functional as F
from xai_repro.core import set_seed
from xai_repro.models import load_model
from xai_repro.agf import AGF
from xai_repro.lrp import LRP

def main():
    p = argparse.ArgumentParser()
    p.add_argument('--archs', nargs='+', default=['vgg19', 'resnet50'])
    p.add_argument('--size', type=int, default=224); p.add_argument('--bs', type=int, default=1)
    p.add_argument('--reps', type=int, default=5); p.add_argument('--device', default='cpu')
    a = p.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {a.device}, batch {a.bs} at {a.size} px, median of {a.reps}")
    print(f"{'network':<12}{'fwd+bwd s':>11}{'AGF s':>9}{'LRP s':>9}{'AGF/fb':>8}{'LRP/fb':>8}")
    sync = (lambda: torch.cuda.synchronize()) if a.device.startswith('cuda') else (lambda: None)
    for arch in a.archs:
        set_seed(0)
        model = load_model(arch).to(a.device).eval()
        x = torch.rand(a.bs, 3, a.size, a.size, device=a.device)
        y = torch.zeros(a.bs, dtype=torch.long, device=a.device)
        agf, lrp = AGF(model), LRP(model)
        def fwd_bwd():
            F.cross_entropy(model(x), y).backward()
            model.zero_grad(set_to_none=True)
        fns = {'fb': fwd_bwd, 'agf': lambda: agf(x), 'lrp': lambda: lrp(x)}
        times = {k: [] for k in fns}
        for f in fns.values(): f()  # warm-up
        for _ in range(a.reps):
            for k, f in fns.items():
                sync(); t = time.perf_counter(); f(); sync(); times[k].append(time.perf_counter() - t)
        fb, ag, lr = (statistics.median(times[k]) for k in ('fb', 'agf', 'lrp'))
        print(f"{arch:<12}{fb:>11.3f}{ag:>9.3f}{lr:>9.3f}{ag / fb:>8.2f}{lr / fb:>8.2f}", flush=True)

if __name__ == '__main__': main()
