"""Every registered figure notebook runs at smoke scale through the runner; smoke reports are deterministic.

Each paper's entries run together in one worker (they share the networks they train); with `pytest -n 2 --dist loadgroup`
(tools/run_tests.py) the papers are spread over the two workers."""
import json
import pandas as pd
import pytest
from xai_repro.reproduce import REGISTRY, reproduce, report, select

PAPERS = sorted({e.paper for e in REGISTRY.values()})
_RUNS = {}

def smoke_run(paper, tmp_path_factory):
    "The smoke run of one paper's entries (once per worker process): (output folder, one row per entry)."
    if paper not in _RUNS:
        out = tmp_path_factory.mktemp(f'smoke_{paper}')
        _RUNS[paper] = out, reproduce(select(paper=paper), 'smoke', out=out, progress=False).set_index('name')
    return _RUNS[paper]

def in_group(value, paper): return pytest.param(value, marks=pytest.mark.xdist_group(f'smoke_{paper}'))

@pytest.mark.parametrize('name', [in_group(n, e.paper) for n, e in REGISTRY.items()])
def test_notebook_runs_at_smoke(tmp_path_factory, name):
    out, df = smoke_run(REGISTRY[name].paper, tmp_path_factory)
    assert df.loc[name, 'ok'], f"{name} failed: {df.loc[name, 'error']}"
    d = out/name
    assert list(d.glob('*.csv')) or list(d.glob('*.png')), f'{name} wrote no table or figure'
    json.loads((d/'claims.json').read_text())

@pytest.mark.parametrize('paper', [in_group(p, p) for p in PAPERS])
def test_report_lists_every_entry(tmp_path_factory, paper):
    out, df = smoke_run(paper, tmp_path_factory)
    text = report(out).read_text()
    for e in REGISTRY.values():
        if e.paper == paper: assert f'`{e.name}`' in text
    assert 'claims held' in text

def test_failing_notebook_reported_by_name(tmp_path, root):
    import xai_repro.reproduce as r
    figs = tmp_path/'figs'; (figs/'published').mkdir(parents=True)
    (figs/'bad.ipynb').write_text(json.dumps({'cells': [
        {'cell_type': 'code', 'metadata': {'tags': ['parameters']}, 'source': 'scale = "local"', 'outputs': [], 'execution_count': None},
        {'cell_type': 'code', 'metadata': {}, 'source': 'raise ValueError("the bad notebook broke")', 'outputs': [], 'execution_count': None}],
        'metadata': {'kernelspec': {'name': 'python3', 'display_name': 'python3', 'language': 'python'}}, 'nbformat': 4, 'nbformat_minor': 4}))
    bad, good = r.Entry('bad_entry', 'x', 'T', 'bad.ipynb'), REGISTRY['synth_samples']
    (figs/good.notebook).write_bytes((root/'paper_figures'/good.notebook).read_bytes())
    df = reproduce([bad, good], 'smoke', out=tmp_path/'out', figures=figs, progress=False).set_index('name')
    assert not df.loc['bad_entry', 'ok'] and 'the bad notebook broke' in df.loc['bad_entry', 'error']
    assert df.loc['synth_samples', 'ok']

@pytest.mark.xdist_group('smoke_xai_repro')
def test_smoke_tables_deterministic(tmp_path_factory, tmp_path):
    out, _ = smoke_run('xai_repro', tmp_path_factory)
    names = ['synth_samples', 'photos_mobilenet']
    df = reproduce(select(only=names), 'smoke', out=tmp_path, progress=False)
    assert df.ok.all()
    for n in names:
        for csv in (out/n).glob('*.csv'):
            pd.testing.assert_frame_equal(pd.read_csv(csv), pd.read_csv(tmp_path/n/csv.name))
