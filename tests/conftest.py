import os
# Tests never wait on the network: weights and datasets must come from disk.
os.environ.setdefault('HF_HUB_OFFLINE', '1')
os.environ.setdefault('XAI_REPRO_OFFLINE', '1')
os.environ.setdefault('MPLBACKEND', 'Agg')
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent

@pytest.fixture(scope='session')
def root(): return ROOT
