"The xai-repro command: list, bad arguments, report without runs."
import subprocess, sys
from pathlib import Path
from xai_repro.reproduce import REGISTRY

BIN = Path(sys.executable).parent/'xai-repro'

def xr(*args, cwd=None):
    return subprocess.run([str(BIN), *args], capture_output=True, text=True, cwd=cwd)

def test_list(root):
    r = xr('list', cwd=root)
    assert r.returncode == 0
    lines = r.stdout.strip().splitlines()
    assert len(lines) == len(REGISTRY)
    for e in REGISTRY.values():
        assert any(l.startswith(e.name + ' ') and e.notebook in l for l in lines)
        assert (root/'paper_figures'/e.notebook).exists(), e.notebook

def test_unknown_entry_and_paper(root):
    r = xr('reproduce', '--only', 'table_99', cwd=root)
    assert r.returncode == 2 and "unknown entry 'table_99'" in r.stderr
    r = xr('reproduce', '--paper', 'nope', cwd=root)
    assert r.returncode == 2 and "unknown paper 'nope'" in r.stderr

def test_bad_scale(root):
    r = xr('reproduce', '--scale', 'huge', cwd=root)
    assert r.returncode == 2 and 'invalid choice' in r.stderr

def test_report_without_runs(root, tmp_path):
    r = xr('report', '--out', str(tmp_path), cwd=root)
    assert r.returncode == 2 and 'no runs found' in r.stderr

def test_figures_dir_missing(tmp_path):
    r = xr('reproduce', '--figures', str(tmp_path), '--only', 'synth_samples', cwd=tmp_path)
    assert r.returncode == 2 and 'no paper_figures/ folder found' in r.stderr

def test_default_out_follows_scale(tmp_path):
    "Without --out, reproduce and report use paper_figures/_out/<scale> (where `make reproduce` writes)."
    r = xr('report', '--scale', 'smoke', cwd=tmp_path)
    assert r.returncode == 2 and 'paper_figures/_out/smoke' in r.stderr
