#!/usr/bin/env python
"""The project's checks, as CI runs them (`make test`, called by `.ci/run`).

1. `nbdev_clean` and `nbdev_export` must not change any tracked file: the notebooks are clean and the
   library equals the notebooks.
2. `nbdev_test` runs every notebook in nbs/ (cells flagged slow/cuda/notest skipped).
3. pytest runs tests/; its summary is the last line printed.
"""
import hashlib, os, subprocess, sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent
bin_ = Path(sys.executable).parent
os.chdir(root)
os.environ.update(HF_HUB_OFFLINE='1', XAI_REPRO_OFFLINE='1', MPLBACKEND='Agg', PYTHONHASHSEED='0')
# two test processes at a time, one torch thread each: oversubscribed threads make torch several times slower
os.environ.setdefault('OMP_NUM_THREADS', '1')
workers = str(max(1, min(2, os.cpu_count() or 1)))

def run(*cmd):
    print('+', ' '.join(map(str, cmd)), flush=True)
    return subprocess.run(list(map(str, cmd))).returncode

def tracked():
    out = subprocess.run(['git', 'ls-files', '-z'], capture_output=True, check=True).stdout.decode()
    return {f: hashlib.sha256(Path(f).read_bytes()).hexdigest() for f in out.split('\0') if f and Path(f).is_file()}

def untracked(folder):
    out = subprocess.run(['git', 'ls-files', '-z', '--others', '--exclude-standard', folder], capture_output=True, check=True)
    return [f for f in out.stdout.decode().split('\0') if f]

before = tracked()
figure_nbs = [f for f in before if f.startswith('paper_figures/') and f.endswith('.ipynb')]
if run(bin_/'nbdev_clean') or run(bin_/'nbdev_clean', '--fname', 'paper_figures') or run(bin_/'nbdev_export'): sys.exit('nbdev_clean/nbdev_export failed')
changed = [f for f, h in tracked().items() if before.get(f) != h] + untracked('xai_repro')
if changed:
    sys.exit('These files change under nbdev_clean/nbdev_export (clean the notebooks, export, and commit):\n  ' + '\n  '.join(changed))
print('notebooks clean, library equals notebooks', flush=True)
if run(bin_/'nbdev_test', '--n_workers', workers): sys.exit('nbdev_test failed')
# --dist loadscope: a test class (each paper's smoke entries, tests/test_figures.py) or module stays on one worker
sys.exit(run(bin_/'python', '-m', 'pytest', 'tests', '-n', workers, '--dist', 'loadscope', '--durations=15', *sys.argv[1:]))
