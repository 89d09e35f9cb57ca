"""Cost of an ante-hoc training step (two passes, Sec. 2.1) against a plain step, side by side in one run.

    .venv/bin/python tests/benchmarks/bench_antehoc.py [--arch resnet18_small] [--size 64] [--bs 64] [--steps 5] [--rounds 3]

Every variant is one complete step on the same batch, interleaved `rounds` times `steps` steps each; the median step
time of each is reported with its ratio to the plain step:
  plain            forward, backward of the cross-entropy, Adam step
  pass 1 only      the same with the SAM hooks on (`AnteHoc.capture`): the cost of forming η soft-attention maps
  two passes       `AnteHocCallback`'s step: pass 1, then the eval-mode forward of the clean image (first='eval'), the
                   weight network, and the forward and backward of the energy map to the weight network
  two passes (first='train')  the same with the pass-1 prediction as Y_first (one forward less)
"""
import argparse, os, statistics, time
os.environ.setdefault('HF_HUB_OFFLINE', '1')
import torch, torch.nn as nn, torch.nn.functional as F
from xai_repro.core import set_seed
from xai_repro.models import load_model
from xai_repro.antehoc import AnteHoc, AnteHocCallback

def make(arch, n_maps):
    set_seed(0)
    kw = dict(width=16) if arch == 'resnet18_small' else {}
    return AnteHoc(load_model(arch, num_classes=10, eval=False, **kw), n_maps)

def steps(first):
    def plain(ah, opt, cb, x, y):
        opt.zero_grad(); F.cross_entropy(ah(x), y).backward(); opt.step()
    def pass1(ah, opt, cb, x, y):
        ah.capture = True; opt.zero_grad(); F.cross_entropy(ah(x), y).backward(); opt.step(); ah.capture = False
    def two(ah, opt, cb, x, y):
        ah.capture = True; opt.zero_grad(); out = ah(x); F.cross_entropy(out, y).backward(); opt.step(); ah.capture = False
        cb.second_pass((x,), ah.sams, out.detach())
    return {'plain': plain, 'pass 1 only': pass1, f'two passes (first={first!r})': two}

def main():
    p = argparse.ArgumentParser()
    p.add_argument('--arch', default='resnet18_small'); p.add_argument('--size', type=int, default=64); p.add_argument('--bs', type=int, default=64)
    p.add_argument('--n_maps', type=int, default=8); p.add_argument('--steps', type=int, default=5); p.add_argument('--rounds', type=int, default=3)
    a = p.parse_args()
    x, y = torch.rand(a.bs, 3, a.size, a.size), torch.randint(0, 10, (a.bs,))
    variants = {**steps('eval'), **{k: v for k, v in steps('train').items() if k.startswith('two')}}
    firsts = {k: ('train' if "'train'" in k else 'eval') for k in variants}
    state = {}
    for k in variants:
        ah = make(a.arch, a.n_maps).train()
        cb = AnteHocCallback(first=firsts[k])
        class L: model = ah
        cb.learn = L(); cb.before_fit()
        state[k] = (ah, torch.optim.Adam([q for n, q in ah.named_parameters() if not n.startswith('weight_net')], 1e-3), cb)
        variants[k](*state[k], x, y)  # warm-up
    times = {k: [] for k in variants}
    for _ in range(a.rounds):
        for k, f in variants.items():
            t = time.perf_counter()
            for _ in range(a.steps): f(*state[k], x, y)
            times[k].append((time.perf_counter() - t) / a.steps)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"{a.arch}, η = {a.n_maps}, batch {tuple(x.shape)}, {torch.get_num_threads()} threads, median of {a.rounds} rounds × {a.steps} steps")
    for k, t in med.items(): print(f"  {k:30s} {1000 * t:8.1f} ms/step   {t / med['plain']:5.2f}× plain")

if __name__ == '__main__': main()
