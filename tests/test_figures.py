"Every registered figure notebook runs at smoke scale through the runner; smoke reports are deterministic."
import json
import pandas as pd
import pytest
from xai_repro.reproduce import REGISTRY, reproduce, report, select

@pytest.fixture(scope='module')
def smoke_run(tmp_path_factory):
    out = tmp_path_factory.mktemp('smoke')
    return out, reproduce(scale='smoke', out=out, progress=False).set_index('name')

@pytest.mark.parametrize('name', list(REGISTRY))
def test_notebook_runs_at_smoke(smoke_run, name):
    out, df = smoke_run
    assert df.loc[name, 'ok'], f"{name} failed: {df.loc[name, 'error']}"
    d = out/name
    assert list(d.glob('*.csv')) or list(d.glob('*.png')), f'{name} wrote no table or figure'
    json.loads((d/'claims.json').read_text())

def test_report_lists_every_entry(smoke_run):
    out, df = smoke_run
    text = report(out).read_text()
    for e in REGISTRY.values(): assert f'`{e.name}`' in text
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

def test_smoke_tables_deterministic(smoke_run, tmp_path):
    out, _ = smoke_run
    names = ['synth_samples', 'photos_mobilenet']
    df = reproduce(select(only=names), 'smoke', out=tmp_path, progress=False)
    assert df.ok.all()
    for n in names:
        for csv in (out/n).glob('*.csv'):
            pd.testing.assert_frame_equal(pd.read_csv(csv), pd.read_csv(tmp_path/n/csv.name))
