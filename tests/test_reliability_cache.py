"""A process SIGKILLed while building the volume cache breaks nothing."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
from reliability_helpers import REPO

CHILD = '''
import sys, time
import numpy as np
_save = np.save
def slow_save(*args, **kwargs):  # leaves each temp file in place a while
    _save(*args, **kwargs)
    time.sleep(0.3)
np.save = slow_save
import ideal_mm
from ideal_mm.datasets.acdc import ACDCDataset
ACDCDataset(data_root=sys.argv[1], split='train', split_cfg=eval(sys.argv[2]),
            pipeline=[])
print('finished')
'''


def _cache_files(cache_dir):
    return sorted(os.listdir(cache_dir)) if os.path.isdir(cache_dir) else []


def test_sigkill_during_cache_build_then_next_run_works(
        tmp_path, copy_phantom, phantom_split_cfg):
    from ideal_mm.datasets.acdc import ACDCDataset
    root = copy_phantom()
    child = subprocess.Popen(
        [sys.executable, '-c', CHILD, root,
         repr(phantom_split_cfg)],
        cwd=REPO,
        env=dict(os.environ, PYTHONPATH=REPO),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE)
    cache_dir = None
    deadline = time.time() + 60
    try:
        # wait until one volume is complete and the next is half-written
        while time.time() < deadline and child.poll() is None:
            caches = [
                os.path.join(dp, d) for dp, dns, _ in os.walk(root)
                for d in dns if dp.endswith('.ideal_mm_cache')
            ]
            if caches:
                cache_dir = caches[0]
                names = _cache_files(cache_dir)
                if any(n.endswith('.json') for n in names) and \
                        any(n.endswith('.tmp') for n in names):
                    break
            time.sleep(0.02)
        child.send_signal(signal.SIGKILL)
    finally:
        out, err = child.communicate(timeout=30)
    assert child.returncode == -signal.SIGKILL, err.decode()[-2000:]
    assert b'finished' not in out
    left = _cache_files(cache_dir)
    assert any(n.endswith('.tmp') for n in left)  # the kill left debris

    # the next run completes the cache and cleans up the dead builder's files
    dataset = ACDCDataset(
        data_root=root,
        split='train',
        split_cfg=phantom_split_cfg,
        pipeline=[])
    names = _cache_files(cache_dir)
    assert not [n for n in names if n.endswith('.tmp')]
    # every cached volume equals one built from scratch elsewhere
    fresh_dir = str(tmp_path / 'fresh_cache')
    fresh = ACDCDataset(
        data_root=root,
        split='train',
        split_cfg=phantom_split_cfg,
        pipeline=[],
        cache_dir=fresh_dir)
    assert len(dataset) == len(fresh) > 0
    npys = [n for n in os.listdir(fresh_dir) if n.endswith('.npy')]
    assert npys and sorted(npys) == sorted(
        n for n in names if n.endswith('.npy'))
    for name in npys:
        assert np.array_equal(
            np.load(os.path.join(cache_dir, name)),
            np.load(os.path.join(fresh_dir, name))), name
