#!/usr/bin/env bash
# Distributed testing with torchrun: bash tools/dist_test.sh CONFIG CHECKPOINT GPUS [args...]
# The torchrun environment (NNODES, NODE_RANK, PORT, MASTER_ADDR) is read as in
# dist_train.sh, line for line: mmseg's own dist_*.sh pair keeps the two apart too.
set -euo pipefail
CONFIG=${1:?usage: bash tools/dist_test.sh CONFIG CHECKPOINT GPUS [test.py args]}
CHECKPOINT=${2:?usage: bash tools/dist_test.sh CONFIG CHECKPOINT GPUS [test.py args]}
GPUS=${3:?usage: bash tools/dist_test.sh CONFIG CHECKPOINT GPUS [test.py args]}
shift 3
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
PYTHON=${PYTHON:-python}
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
exec "$PYTHON" -m torch.distributed.run \
    --nnodes="$NNODES" --node_rank="$NODE_RANK" --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$GPUS" --master_port="$PORT" \
    "$ROOT/tools/test.py" "$CONFIG" "$CHECKPOINT" --launcher pytorch "$@"
