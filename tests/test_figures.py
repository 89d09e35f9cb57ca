"""Every registered figure notebook runs at smoke scale through the runner; smoke reports are deterministic.

Each paper's entries are the tests of one class, `TestSmoke_<paper>`, and run together (they share the networks they
train); `pytest -n 2 --dist loadscope` (tools/run_tests.py) keeps a class on one worker and spreads the papers over
the workers. (`--dist loadgroup` with `xdist_group` marks did not keep the groups together with pytest-xdist 3.8.)"""
import json, os, shutil, subprocess, sys
from pathlib import Path
import pandas as pd
import pytest
from xai_repro.reproduce import REGISTRY, reproduce, report, select

PAPERS = sorted({e.paper for e in REGISTRY.values()})
_RUNS = {}
TORCHRUN = ('graddenoise', 'graddenoise_table_4_3')  # the entry also run under torchrun (its tables go through run_metric)

def smoke_run(paper, tmp_path_factory):
    "The smoke run of one paper's entries (once per worker process): (output folder, one row per entry)."
    if paper not in _RUNS:
        out = tmp_path_factory.mktemp(f'smoke_{paper}')
        _RUNS[paper] = out, reproduce(select(paper=paper), 'smoke', out=out, progress=False).set_index('name')
    return _RUNS[paper]

def _smoke_tests(paper):
    "The test class of one paper's entries."
    class Smoke:
        @pytest.mark.parametrize('name', [n for n, e in REGISTRY.items() if e.paper == paper])
        def test_notebook_runs_at_smoke(self, tmp_path_factory, name):
            out, df = smoke_run(paper, tmp_path_factory)
            assert df.loc[name, 'ok'], f"{name} failed: {df.loc[name, 'error']}"
            d = out/name
            assert list(d.glob('*.csv')) or list(d.glob('*.png')), f'{name} wrote no table or figure'
            json.loads((d/'claims.json').read_text())

        def test_report_lists_every_entry(self, tmp_path_factory):
            out, df = smoke_run(paper, tmp_path_factory)
            text = report(out).read_text()
            for e in REGISTRY.values():
                if e.paper == paper: assert f'`{e.name}`' in text
            assert 'claims held' in text

        if paper == 'xai_repro':
            def test_smoke_tables_deterministic(self, tmp_path_factory, tmp_path):
                out, _ = smoke_run(paper, tmp_path_factory)
                names = ['synth_samples', 'photos_mobilenet']
                df = reproduce(select(only=names), 'smoke', out=tmp_path, progress=False)
                assert df.ok.all()
                for n in names:
                    for csv in (out/n).glob('*.csv'):  # byte-identical (measured times are apart, in *_times.csv)
                        if not csv.stem.endswith('_times'): assert csv.read_bytes() == (tmp_path/n/csv.name).read_bytes(), csv.name
        if paper == TORCHRUN[0]:
            def test_reused_cache_is_reported(self, tmp_path_factory):
                "An entry's run.json counts the cached results it reused, and the report says so beside its time."
                out, df = smoke_run(paper, tmp_path_factory)
                runs = {n: json.loads((out/n/'run.json').read_text()) for n in df.index}
                first = next(iter(runs))
                assert runs[first]['cached'] == 0  # a fresh cache: the first entry trains its networks
                assert runs['graddenoise_figure_4_3']['cached'] >= 2  # the two networks of Figure 4.2 (and their maps)
                assert f"(reused {runs['graddenoise_figure_4_3']['cached']} cached networks, maps or metrics)" in report(out).read_text()

            def test_torchrun_writes_the_same_tables(self, tmp_path_factory, tmp_path):
                "The entry run by two CPU processes under torchrun (evaluation sharded, Gloo) writes the single-process tables."
                out, _ = smoke_run(paper, tmp_path_factory)
                name = TORCHRUN[1]
                # the single process's trained networks, not its maps or metrics: those are computed sharded. (Networks
                # trained data-parallel differ slightly: BatchNorm's batch statistics are per process.)
                shutil.copytree(out/'_cache'/'graddenoise', tmp_path/'_cache'/'graddenoise')
                env = dict(os.environ, OMP_NUM_THREADS='1', CUDA_VISIBLE_DEVICES='')
                cmd = [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', '2', '--no-python',
                       Path(sys.executable).parent/'xai-repro', 'reproduce', '--only', name, '--scale', 'smoke', '--out', tmp_path]
                r = subprocess.run(list(map(str, cmd)), env=env, capture_output=True, text=True, timeout=900)
                assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
                assert '2 processes (torchrun)' in json.loads((tmp_path/name/'run.json').read_text())['hardware']
                assert (tmp_path/name/'_rank1').is_dir()  # rank 1 ran the notebook too, and wrote no outputs
                tables = [c for c in (out/name).glob('*.csv') if not c.stem.endswith('_times')]
                assert tables
                for csv in tables: assert (tmp_path/name/csv.name).read_bytes() == csv.read_bytes(), csv.name
    Smoke.__name__ = Smoke.__qualname__ = f'TestSmoke_{paper}'
    return Smoke

for _p in PAPERS: globals()[f'TestSmoke_{_p}'] = _smoke_tests(_p)

def test_failing_notebook_reported_by_name(tmp_path, root):
    import xai_repro.reproduce as r
    figs = tmp_path/'figs'; (figs/'published').mkdir(parents=True)
    (figs/'bad.ipynb').write_text(json.dumps({'cells': [
        {'cell_type': 'code', 'metadata': {'tags': ['parameters']}, 'source': 'scale = "local"', 'outputs': [], 'execution_count': None},
        {'cell_type': 'code', 'metadata': {}, 'source': 'raise ValueError("the bad notebook broke")', 'outputs': [], 'execution_count': None}],
        'metadata': {'kernelspec': {'name': 'python3', 'display_name': 'python3', 'language': 'python'}}, 'nbformat': 4, 'nbformat_minor': 4}))
    bad, good = r.Entry('bad_entry', 'x', 'T', 'bad.ipynb'), REGISTRY['synth_samples']
    (figs/good.notebook).write_bytes((root/'paper_figures'/good.notebook).read_bytes())
    (tmp_path/'out'/good.name).mkdir(parents=True); (tmp_path/'out'/good.name/'stale.csv').write_text('a\n1\n')
    df = reproduce([bad, good], 'smoke', out=tmp_path/'out', figures=figs, progress=False).set_index('name')
    assert not (tmp_path/'out'/good.name/'stale.csv').exists(), 'a table of an earlier run survived the rerun'
    assert not df.loc['bad_entry', 'ok'] and 'the bad notebook broke' in df.loc['bad_entry', 'error']
    assert df.loc['synth_samples', 'ok']
