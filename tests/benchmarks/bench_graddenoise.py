"""Cost of an interpretable-gradient training step (thesis ch. 4) against a plain step, side by side in one run.

    .venv/bin/python tests/benchmarks/bench_graddenoise.py [--size 64] [--bs 16] [--steps 5] [--rounds 3]

The issue's setting: torchvision ResNet-18 (100 classes, random weights, training mode), 64 px, batch 16, SGD, on
this machine's CPU. Every variant is one complete optimizer step on the same batch; the variants run interleaved,
`rounds` times `steps` steps each, and the median step time of each is reported with its ratio to the plain step:
  plain            forward, backward of the cross-entropy, SGD step (two passes)
  two forwards     Algorithm 3 run as the chapter describes it (five passes): a forward and guided backward for the
                   teacher (`guided_grad`), a second forward, the standard input gradient with create_graph, the
                   backward of L = L_C + λ L_R
  one forward      ours (`interpretable_grad_loss`): the teacher's guided backward and the standard backward share
                   one forward (the guided rule switched on for the teacher's backward only), then the backward of L
  fastai callback  ours inside a fastai training loop (`GradDenoiseCallback`), against a plain fastai loop
With --channels-last the same comparisons on channels-last tensors and weights.
"""
import argparse, copy, os, statistics, time
os.environ.setdefault('HF_HUB_OFFLINE', '1')
import torch, torch.nn as nn, torch.nn.functional as F
from xai_repro.core import set_seed
from xai_repro.models import load_model
from xai_repro.gradient import guided_grad
from xai_repro.graddenoise import interpretable_grad_loss, grad_error, GradDenoiseCallback
from xai_repro.data import SynthDataset, fit_learner

LAM = 7.5e-3

def plain_step(model, opt, x, y):
    opt.zero_grad(); F.cross_entropy(model(x), y).backward(); opt.step()

def two_forward_step(model, opt, x, y):
    opt.zero_grad()
    gg = guided_grad(model, x, y, loss=F.cross_entropy)               # forward + guided backward: the teacher
    xx = x.detach().requires_grad_(True)
    ce = F.cross_entropy(model(xx), y)                                  # second forward
    g, = torch.autograd.grad(ce, xx, create_graph=True)                 # standard input gradient, in the graph
    (ce + LAM * grad_error(g, gg, 'cos').mean()).backward(); opt.step()

def one_forward_step(model, opt, x, y):
    opt.zero_grad(); interpretable_grad_loss(model, x, y, lam=LAM).loss.backward(); opt.step()

def time_steps(step, model, opt, x, y, n):
    t = time.perf_counter()
    for _ in range(n): step(model, opt, x, y)
    return (time.perf_counter() - t) / n

def bench_steps(label, make, x, y, steps, rounds):
    variants = {'plain': plain_step, 'two forwards': two_forward_step, 'one forward (ours)': one_forward_step}
    models = {k: make() for k in variants}
    opts = {k: torch.optim.SGD(m.parameters(), lr=1e-3, momentum=0.9) for k, m in models.items()}
    for k, f in variants.items(): time_steps(f, models[k], opts[k], x, y, 1)  # warm-up
    times = {k: [] for k in variants}
    for _ in range(rounds):
        for k, f in variants.items(): times[k].append(time_steps(f, models[k], opts[k], x, y, steps))
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"\n{label}: batch {tuple(x.shape)}, {torch.get_num_threads()} threads, median of {rounds} rounds × {steps} steps")
    for k, t in med.items(): print(f"  {k:22s} {1000 * t:8.1f} ms/step   {t / med['plain']:5.2f}× plain")
    return med

def bench_fastai(label, make, x, y, epochs):
    "One fastai fit of `epochs` epochs over the same images, plain and with the callback (first fit of each is a warm-up)."
    ds = SynthDataset(x, y)
    def fit(cbs):
        m = make(); t = time.perf_counter()
        fit_learner(m, ds, SynthDataset(x[:2], y[:2]), nn.CrossEntropyLoss(), epochs, 1e-3, bs=len(x) // 4, cbs=cbs)
        return time.perf_counter() - t
    fit([]); fit([GradDenoiseCallback(LAM)])
    tp, tc = fit([]), fit([GradDenoiseCallback(LAM)])
    print(f"  fastai: plain {tp:.1f} s, with GradDenoiseCallback {tc:.1f} s: {tc / tp:.2f}× plain ({label})")

def main():
    p = argparse.ArgumentParser()
    p.add_argument('--size', type=int, default=64); p.add_argument('--bs', type=int, default=16)
    p.add_argument('--steps', type=int, default=5); p.add_argument('--rounds', type=int, default=3)
    p.add_argument('--channels-last', action='store_true'); p.add_argument('--mobilenet', action='store_true')
    a = p.parse_args()
    set_seed(0)
    x, y = torch.rand(a.bs, 3, a.size, a.size), torch.randint(0, 100, (a.bs,))
    base = load_model('resnet18', num_classes=100, eval=False)
    make = lambda: copy.deepcopy(base)
    bench_steps('ResNet-18', make, x, y, a.steps, a.rounds)
    bench_fastai('ResNet-18, 4 batches × 2 epochs', make, torch.cat([x] * 4), torch.cat([y] * 4), 2)
    if a.channels_last:
        cl = lambda: copy.deepcopy(base).to(memory_format=torch.channels_last)
        bench_steps('ResNet-18, channels last', cl, x.contiguous(memory_format=torch.channels_last), y, a.steps, a.rounds)
    if a.mobilenet:
        mb = load_model('mobilenet_v2', num_classes=100, eval=False)
        bench_steps('MobileNetV2 (ReLU6, in place)', lambda: copy.deepcopy(mb), x, y, a.steps, a.rounds)

if __name__ == '__main__': main()
