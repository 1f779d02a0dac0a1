#!/bin/bash
# Runs or resumes the long-schedule study (configs/studies/phantom_hard_long.py)
# from the repository root, in the order that gives the most information
# first: supervised seed 0 (no stage 1 needed), then stage 1 and every arm
# of seed 0 (spec order: supervised, ideal, ideal_bcp, cps,
# supervised_from_ideal, unimatch, supervised_all), then seeds 1, 2, 3-4.
# Finished runs are skipped, an interrupted one resumes from its last
# checkpoint (same machine) or restarts (fresh clone). One run at a time.
# THREADS (torch threads per run) defaults to 1: on the shared 2-core machine
# one thread ran a step 15.6x faster than two (docs/benchmarks.md, section
# 5); on an idle machine measure 2 with benchmark.py --ab --ab-threads.
#   PYTHON=.venv/bin/python THREADS=1 bash results/phantom_hard_long/run.sh
set -u
PY=${PYTHON:-python}
T=${THREADS:-1}
S=configs/studies/phantom_hard_long.py
O=results/phantom_hard_long
run() { "$PY" tools/analysis/study.py "$S" --out "$O" --jobs 1 \
    --threads "$T" "$@" || echo "study.py exited $? ($*)"; }
run --methods supervised --seeds 0
run --seeds 0
run --seeds 1
run --seeds 2
run --seeds 3 4
