#!/usr/bin/env bash
# The GPU report on a fresh device machine, in one command from the repo root:
#     bash tools/analysis/gpu_report.sh [gpu_report.py args]
# 1. unless everything the report needs already imports, installs the wheels
#    carried in .wheels/ (make gpu-wheels) without dependencies or an index
#    (the device has no internet);
# 2. runs tools/analysis/gpu_report.py --out "$OUT" (default ./gpu_report_out)
#    with its data and work dirs in $WORK_ROOT (default
#    /tmp/ideal_mm_gpu_report, outside $OUT, which is copied back).
# ideal_mm itself is used from this checkout through PYTHONPATH (an editable
# install would need setuptools from an index). PYTHON picks the interpreter.
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
PY=${PYTHON:-python3}
OUT=${OUT:-$ROOT/gpu_report_out}
WORK_ROOT=${WORK_ROOT:-/tmp/ideal_mm_gpu_report}
mkdir -p "$OUT"
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"

shopt -s nullglob
wheels=(.wheels/*.whl)
if "$PY" tools/analysis/gpu_report.py --out "$OUT" --check-imports \
    >/dev/null 2>&1; then
  echo "[gpu_report.sh] every required module imports: nothing to install"
elif (( ${#wheels[@]} )); then
  # a distribution's Python marks itself externally managed (PEP 668); the
  # device machine is a throw-away, so install into it anyway (older pips
  # ignore the variable)
  export PIP_BREAK_SYSTEM_PACKAGES=1
  echo "[gpu_report.sh] installing ${#wheels[@]} wheels from .wheels/"
  if ! "$PY" -m pip install -q --no-deps --no-index "${wheels[@]}"; then
    # one incompatible wheel fails the whole call: install one by one and
    # name the ones that do not install (the import check reports the rest)
    for w in "${wheels[@]}"; do
      "$PY" -m pip install -q --no-deps --no-index "$w" \
        || echo "[gpu_report.sh] could not install $w"
    done
  fi
else
  echo "[gpu_report.sh] no .wheels/: using the installed packages"
fi
"$PY" -m pip list --format=freeze > "$OUT/pip_list.txt" 2>/dev/null || true
nvidia-smi > "$OUT/nvidia-smi.txt" 2>&1 || true

exec "$PY" tools/analysis/gpu_report.py --out "$OUT" \
  --work-root "$WORK_ROOT" "$@"
