"""One table built as the figure notebooks build it, in one process or under torchrun (see tests/test_distributed.py).

python tests/_dist_table.py WEIGHTS CACHE OUT: the synthetic smoke VGG (trained once into WEIGHTS), 20 test images,
Grad-CAM and Score-CAM scored by AD/AG/AI/insertion/deletion and AOPC with seeded noise (maps and values cached in
CACHE). Rank 0 writes OUT/table.csv; every rank writes what it holds to OUT/rank<r>.pt.
"""
import sys
from pathlib import Path
import pandas as pd, torch
from xai_repro.experiment import synth_setup, interpretability_rows, run_metric, run_method
from xai_repro.distributed import dist_env, is_main, shard
from xai_repro.metrics import aopc

weights, cache, out = map(Path, sys.argv[1:4])
rank, world = dist_env()
s = synth_setup('vgg_small', 'smoke', cache=weights, n_test=20)
methods = {'Grad-CAM': 'gradcam', 'Score-CAM': 'scorecam'}
rows = interpretability_rows(s, methods, cache=cache)
assert interpretability_rows(s, methods, cache=cache) == rows  # read back from the cache
noise = run_metric(s, 'scorecam', None, aopc, dict(fill='uniform', patch=4, batch_size=4), cache=cache)  # seeded per image
maps = run_method(s, 'scorecam', cache=cache)['maps']
if is_main(): pd.DataFrame(rows).to_csv(out/'table.csv', index=False)
torch.save(dict(rows=rows, aopc=noise, maps=maps, world=world, own=len(shard(20, 8))), out/f'rank{rank}.pt')
