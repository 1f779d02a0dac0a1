#!/usr/bin/env bash
# The whole IDEAL method in one command: stage-1 pre-training, stage-2
# fine-tuning from the exported encoder, then per-volume testing of the best
# fine-tuned checkpoint.
#
#   bash tools/run_ideal.sh PRETRAIN_CONFIG FINETUNE_CONFIG [GPUS] [-- train.py args]
#   bash tools/run_ideal.sh configs/ideal/unet_acdc_pretrain.py configs/ideal/unet_acdc.py
#   bash tools/run_ideal.sh configs/ideal/unet_acdc_pretrain.py configs/ideal/ideal_unet_4xb6-30k_acdc-10pct.py 4
#
# GPUS > 1 launches tools/dist_train.sh / dist_test.sh (torchrun), otherwise
# tools/train.py / test.py. Work dirs: WORK_ROOT/<config name> (WORK_ROOT
# defaults to work_dirs). The fine-tuning run gets the encoder through
#   --cfg-options model.<encoder>.init_cfg.checkpoint=<pretrain work dir>/encoder.pth
# where <encoder> is segmentor.backbone (semi-supervised models built on a
# student, e.g. BiConsistencySemiSupModel) or backbone (a plain segmentor),
# as ideal_mm.model_config.encoder_path reads it from the config.
# (a top-level variable such as `pretrained_encoder` is substituted when the
# config is parsed, so it cannot be overridden from the command line).
# Arguments after `--` go to both training runs (e.g. --amp).
set -euo pipefail
usage="usage: bash tools/run_ideal.sh PRETRAIN_CONFIG FINETUNE_CONFIG [GPUS] [-- train.py args]"
PRETRAIN_CONFIG=${1:?$usage}
FINETUNE_CONFIG=${2:?$usage}
shift 2
GPUS=1
if [ $# -gt 0 ] && [ "$1" != "--" ]; then GPUS=$1; shift; fi
if [ $# -gt 0 ] && [ "$1" = "--" ]; then shift; fi
EXTRA=("$@")

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
PY=${PYTHON:-python}
WORK_ROOT=${WORK_ROOT:-work_dirs}
for f in "$PRETRAIN_CONFIG" "$FINETUNE_CONFIG"; do
  [ -f "$f" ] || { echo "error: config $f does not exist" >&2; exit 1; }
done
case "$GPUS" in ''|*[!0-9]*|0) echo "error: GPUS must be a positive integer, got '$GPUS'" >&2; exit 1;; esac

name() { basename "$1" .py; }
PRE_DIR="$WORK_ROOT/$(name "$PRETRAIN_CONFIG")"
FT_DIR="$WORK_ROOT/$(name "$FINETUNE_CONFIG")"
ENCODER="$PRE_DIR/encoder.pth"
ENCODER_KEY=$("$PY" -c 'import sys
from mmengine.config import Config
from ideal_mm.model_config import encoder_path
print(encoder_path(Config.fromfile(sys.argv[1]).get("model")))' "$FINETUNE_CONFIG")

train() {  # CONFIG WORK_DIR [args...]
  local config=$1 work_dir=$2; shift 2
  if [ "$GPUS" -gt 1 ]; then
    PYTHON="$PY" bash tools/dist_train.sh "$config" "$GPUS" --work-dir "$work_dir" "$@"
  else
    "$PY" tools/train.py "$config" --work-dir "$work_dir" "$@"
  fi
}

echo "==> stage 1: $PRETRAIN_CONFIG -> $PRE_DIR"
train "$PRETRAIN_CONFIG" "$PRE_DIR" ${EXTRA[@]+"${EXTRA[@]}"}
[ -f "$ENCODER" ] || { echo "error: pre-training wrote no $ENCODER" >&2; exit 1; }

echo "==> stage 2: $FINETUNE_CONFIG from $ENCODER -> $FT_DIR"
train "$FINETUNE_CONFIG" "$FT_DIR" ${EXTRA[@]+"${EXTRA[@]}"} \
  --cfg-options model."$ENCODER_KEY".init_cfg.checkpoint="$ENCODER"

CKPT=$(ls -t "$FT_DIR"/best_mDice_iter_*.pth 2>/dev/null | head -n 1 || true)
if [ -z "$CKPT" ]; then
  CKPT=$(cat "$FT_DIR/last_checkpoint" 2>/dev/null || true)
fi
[ -n "$CKPT" ] && [ -f "$CKPT" ] || { echo "error: no checkpoint in $FT_DIR" >&2; exit 1; }

echo "==> test: $CKPT"
if [ "$GPUS" -gt 1 ]; then
  PYTHON="$PY" bash tools/dist_test.sh "$FINETUNE_CONFIG" "$CKPT" "$GPUS" --work-dir "$FT_DIR"
else
  "$PY" tools/test.py "$FINETUNE_CONFIG" "$CKPT" --work-dir "$FT_DIR"
fi
echo "==> done: $FT_DIR/summary.json, $FT_DIR/per_case.csv"
