"""Train small networks with fastai, plainly and with each training callback, and save this process's weights: run
alone, or by torchrun (then `fit_learner` trains data-parallel with `xai_repro.distributed.DataParallel`)."""
import sys
from pathlib import Path
import torch, torch.nn as nn
from xai_repro.distributed import dist_env
from xai_repro.data import fit_learner
from xai_repro.graddenoise import GradDenoiseCallback
from xai_repro.antehoc import AnteHoc, AnteHocCallback
from xai_repro.disentangle import DisentangleCallback

def net():  # no BatchNorm: data-parallel training then takes the single process's steps
    torch.manual_seed(1)
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 4))

out = Path(sys.argv[1]); out.mkdir(parents=True, exist_ok=True)
rank, world = dist_env()
g = torch.Generator().manual_seed(0)
x, y = torch.rand(96, 3, 16, 16, generator=g), torch.randint(0, 4, (96,), generator=g)
runs = dict(plain=(net(), None), graddenoise=(net(), GradDenoiseCallback(lam=0.1)),
            antehoc=(AnteHoc(net(), n_maps=2), AnteHocCallback()), disentangle=(net(), DisentangleCallback(lam=1., layer='2')))
res = dict(world=world, init={}, states={}, slices={}, losses={})
for name, (model, cb) in runs.items():
    res['init'][name] = {k: v.clone() for k, v in model.state_dict().items()}
    # batches of 31 (the last 3 images dropped): slices of 15 and 16 images under two processes
    learn = fit_learner(model, (x, y), (x[:32], y[:32]), nn.CrossEntropyLoss(), epochs=2, lr=1e-2, bs=31, cbs=[cb] if cb else None)
    res['states'][name] = {k: v.clone() for k, v in model.state_dict().items()}
    res['slices'][name] = getattr(getattr(learn, 'data_parallel', None), 'n', None)
    if cb is not None: res['losses'][name] = len(cb.batch_losses)
torch.save(res, out/f'rank{rank}.pt')
