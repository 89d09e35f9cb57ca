"Evaluation sharded over two Gloo processes under torchrun gives the single-process table (xai_repro.distributed)."
import os, subprocess, sys
from pathlib import Path
import torch

SCRIPT = Path(__file__).with_name('_dist_table.py')

def _run(cmd, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_ADDR', 'MASTER_PORT')}
    env.update(OMP_NUM_THREADS='1', HF_HUB_OFFLINE='1', CUDA_VISIBLE_DEVICES='')  # CPU processes: the Gloo backend
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]

def test_sharded_table_equals_single_process(tmp_path):
    w, one, two = (tmp_path/d for d in ('weights', 'one', 'two'))
    for d in (one, two): d.mkdir()
    _run([sys.executable, SCRIPT, w, one/'cache', one], tmp_path)
    _run([sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', '2', SCRIPT, w, two/'cache', two], tmp_path)
    assert (two/'table.csv').read_bytes() == (one/'table.csv').read_bytes()
    ref = torch.load(one/'rank0.pt')
    assert ref['world'] == 1 and not (one/'rank1.pt').exists()
    got = [torch.load(two/f'rank{r}.pt') for r in (0, 1)]
    assert [g['world'] for g in got] == [2, 2]
    assert [g['own'] for g in got] == [8, 12]  # batches of 8: one for rank 0, two for rank 1
    for g in got:  # every process holds the whole, merged result
        assert g['rows'] == ref['rows']
        assert torch.equal(g['maps'], ref['maps']) and torch.equal(g['aopc'], ref['aopc'])
    # rank 0 alone wrote the caches, whole
    assert not list((two/'cache').rglob('*.tmp'))
    assert sorted(p.relative_to(two/'cache') for p in (two/'cache').rglob('*.pt')) == \
           sorted(p.relative_to(one/'cache') for p in (one/'cache').rglob('*.pt'))

def test_data_parallel_training(tmp_path):
    "fastai training under torchrun (DataParallel): the processes end equal, and equal to one process where no BatchNorm is trained."
    script = SCRIPT.with_name('_dist_train.py')
    _run([sys.executable, script, tmp_path/'one'], tmp_path)
    _run([sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', '2', script, tmp_path/'two'], tmp_path)
    one = torch.load(tmp_path/'one'/'rank0.pt')
    r0, r1 = (torch.load(tmp_path/'two'/f'rank{r}.pt') for r in (0, 1))
    assert (one['world'], r0['world'], r1['world']) == (1, 2, 2)
    assert set(one['slices'].values()) == {None} and set(r0['slices'].values()) == {15} and set(r1['slices'].values()) == {16}
    assert one['losses'] == r0['losses'] == {'graddenoise': 6, 'antehoc': 6, 'disentangle': 6}  # 2 epochs of 3 batches
    for name, ref in one['states'].items():
        a, b = r0['states'][name], r1['states'][name]
        assert max((ref[k] - one['init'][name][k]).abs().max() for k in ref) > 1e-2, name  # it trained
        assert all(torch.equal(a[k], b[k]) for k in a), name  # gradients averaged: every process takes the same steps
        if name != 'disentangle':  # its encoders have BatchNorm, whose batch statistics are per process
            for k in ref: assert torch.allclose(a[k], ref[k], rtol=1e-4, atol=1e-5), (name, k, (a[k] - ref[k]).abs().max())
