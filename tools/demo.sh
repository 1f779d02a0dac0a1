#!/usr/bin/env bash
# `make demo`: generate phantom ACDC data, then train, test and compare on it
#   1. the supervised-only baseline (mmseg UNet, 2 labelled patients),
#   2. IDEAL: dense contrastive pre-training of the UNet encoder on all
#      training slices (no labels), then bi-consistency fine-tuning with the
#      same 2 labelled patients plus the unlabelled ones,
# and print per-class Dice / HD95 / ASD on the phantom test volumes.
# Stage 2 runs the paper's plain form (configs/demo/ideal_unet_phantom_finetune.py),
# not one of the stage-2 options: those were measured on the high-variability
# phantom only (docs/paper_to_code.md), and each adds decoder passes per
# iteration (a copy-paste pass; a strong-view and a feature-dropout pass).
# Work dirs: work_dirs/demo/<method>_phantom-2pat (summary.json, per_case.csv).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
DATA=${DEMO_DATA:-data/phantom_acdc}
OUT=${DEMO_OUT:-work_dirs/demo}
start=$(date +%s)

step() { printf '\n==> %s  [%ss]\n' "$*" "$(( $(date +%s) - start ))"; }

best_ckpt() {  # newest best-by-mDice checkpoint of a work dir
  ls -t "$1"/best_mDice_iter_*.pth 2>/dev/null | head -n 1
}

run_info() {  # method name and label budget for tools/analysis/summarize.py
  printf '{"method": "%s", "label_budget": 2}\n' "$2" > "$1/run_info.json"
}

# Deterministic (seed 0), so regenerating gives the same data; --overwrite
# only ever replaces a folder the phantom generator wrote.
step "generating phantom ACDC data in $DATA (30 patients: 18 train, 4 val, 8 test)"
"$PY" tools/data/make_phantom_acdc.py --out "$DATA" --patients 30 --seed 0 --size 128 128 --overwrite

SUP="$OUT/supervised_unet_phantom-2pat"
PRE="$OUT/ideal_unet_phantom_pretrain"
IDEAL="$OUT/ideal_unet_phantom-2pat"
rm -rf "$SUP" "$PRE" "$IDEAL"

step "supervised baseline: train"
"$PY" tools/train.py configs/demo/supervised_unet_phantom.py --work-dir "$SUP"
step "supervised baseline: test"
"$PY" tools/test.py configs/demo/supervised_unet_phantom.py "$(best_ckpt "$SUP")" --work-dir "$SUP"
run_info "$SUP" "supervised only (UNet)"

step "IDEAL stage 1: dense contrastive pre-training (no labels)"
"$PY" tools/train.py configs/demo/ideal_unet_phantom_pretrain.py --work-dir "$PRE"
step "IDEAL stage 2: bi-consistency fine-tuning, the paper's plain form, from $PRE/encoder.pth"
"$PY" tools/train.py configs/demo/ideal_unet_phantom_finetune.py --work-dir "$IDEAL" \
  --cfg-options model.segmentor.backbone.init_cfg.checkpoint="$PRE/encoder.pth"
step "IDEAL: test"
"$PY" tools/test.py configs/demo/ideal_unet_phantom_finetune.py "$(best_ckpt "$IDEAL")" --work-dir "$IDEAL"
run_info "$IDEAL" "IDEAL (UNet)"

step "results on the phantom test volumes (phantom data, not ACDC)"
for wd in "$SUP" "$IDEAL"; do
  echo "--- $(basename "$wd")"
  "$PY" -c "import json,sys; from ideal_mm.evaluation.report import format_table; print(format_table(json.load(open(sys.argv[1]))))" "$wd/summary.json"
done
"$PY" tools/analysis/summarize.py "$SUP" "$IDEAL" --out "$OUT/results.md"
step "done: tables in $OUT/results.md, per-case CSVs in each work dir"
