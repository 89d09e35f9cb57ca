"`pip install .` gives a working package outside the repository, with its package data."
import os, subprocess, sys, sysconfig, venv
from pathlib import Path
import pytest

def test_wheel_installs_and_imports(root, tmp_path):
    dist = tmp_path/'dist'
    subprocess.run([sys.executable, '-m', 'pip', 'wheel', str(root), '--no-deps', '--no-build-isolation', '-q', '-w', str(dist)],
                   check=True, cwd=tmp_path)
    whl, = dist.glob('xai_repro-*.whl')
    env = tmp_path/'venv'
    venv.create(env, with_pip=False)
    py = env/'bin'/'python'
    site = subprocess.run([str(py), '-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'], capture_output=True, text=True, check=True).stdout.strip()
    # install the wheel itself with this environment's pip into the new venv; its heavy dependencies (torch...)
    # are reached through a .pth line pointing at this environment's site-packages, placed after the wheel
    subprocess.run([sys.executable, '-m', 'pip', 'install', '--no-deps', '-q', '--target', site, str(whl)], check=True)
    Path(site, 'zz_deps.pth').write_text(sysconfig.get_paths()['purelib'] + '\n')
    code = ("import xai_repro, pathlib; from xai_repro.data import load_photos; from xai_repro.models import imagenet_classes;"
            "x, meta = load_photos(32); assert len(meta) >= 20 and x.shape[1:] == (3, 32, 32);"
            "assert len(imagenet_classes()) == 1000; print(xai_repro.__file__)")
    r = subprocess.run([str(py), '-c', code], capture_output=True, text=True, cwd=tmp_path, env={**os.environ, 'PYTHONPATH': ''})
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().startswith(site), r.stdout  # the wheel's copy, not the repository's
    assert (Path(site)/'bin'/'xai-repro').exists() or (Path(site, 'xai_repro-0.1.0.dist-info', 'entry_points.txt').read_text().find('xai-repro') >= 0)
