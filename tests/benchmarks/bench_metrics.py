"""Insertion + deletion cost against the bare batched forward passes they need (run by hand, not by pytest).

    python tests/benchmarks/bench_metrics.py [--images 2] [--batch-size 64] [--repeats 2] [--size 224] [--device cpu]

ResNet-50 with random weights at 224×224, the thesis' setting (224 pixels per step: 225 images per curve).
For N images, insertion and deletion forward 2·N·225 images (plus N to find the top-1 class for each);
the bare reference forwards the same 2·N·225 images, in the same chunks, with nothing else.
Runs alternate (ours, bare, ours, bare, ...) so that a busy machine slows both alike; the ratio uses the
fastest run of each. The target is a ratio of at most 1.25.
"""
import argparse, math, time
import torch
from xai_repro.models import load_model
from xai_repro.metrics import insertion, deletion

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--images', type=int, default=2)
    ap.add_argument('--batch-size', type=int, default=64)
    ap.add_argument('--repeats', type=int, default=2)
    ap.add_argument('--size', type=int, default=224)
    ap.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    a = ap.parse_args()
    dev = torch.device(a.device)
    torch.manual_seed(0)
    model = load_model('resnet50').to(dev).eval()
    x = torch.rand(a.images, 3, a.size, a.size, device=dev)
    sal = torch.rand(a.images, a.size, a.size, device=dev)
    step = a.size                                  # one row per step: 224 pixels at 224×224
    n_img = 2 * a.images * (math.ceil(a.size * a.size / step) + 1)
    chunk = torch.rand(a.batch_size, 3, a.size, a.size, device=dev)
    sync = (lambda: torch.cuda.synchronize(dev)) if dev.type == 'cuda' else (lambda: None)

    def ours():
        insertion(model, x, sal, step=step, batch_size=a.batch_size)
        deletion(model, x, sal, step=step, batch_size=a.batch_size)

    def bare():
        with torch.no_grad():
            for i in range(0, n_img, a.batch_size): model(chunk[:min(a.batch_size, n_img - i)])

    with torch.no_grad(): model(chunk[:2])  # warm-up
    sync()
    times = {'ours': [], 'bare': []}
    for r in range(a.repeats):
        for name, f in (('ours', ours), ('bare', bare)):
            t = time.perf_counter(); f(); sync(); times[name].append(time.perf_counter() - t)
            print(f"run {r + 1} {name}: {times[name][-1]:.1f} s", flush=True)
    t_ours, t_bare = min(times['ours']), min(times['bare'])
    print(f"ResNet-50 (random weights) at {a.size}×{a.size} on {dev}, {torch.get_num_threads()} threads, "
          f"{a.images} image(s), batch {a.batch_size}: {n_img} forward images")
    print(f"insertion+deletion {t_ours:.1f} s | bare forward passes {t_bare:.1f} s | ratio {t_ours / t_bare:.3f} (target <= 1.25)")

if __name__ == '__main__': main()
