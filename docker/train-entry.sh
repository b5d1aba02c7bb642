#!/bin/sh
# torchrun entry of the trainer image: one trainer process per GPU, each running
# `python -m xlmodel train "$@"` (e.g. --settings /data/run.json [--resume]); DDP over nccl.
#   NPROC_PER_NODE  processes on this node (default "gpu": one per visible GPU)
#   NNODES, NODE_RANK, RDZV_ENDPOINT (host:port of node 0)  for several nodes
# For the whole train stage (skip when up to date, eval, export) use the CLI instead:
#   docker run --entrypoint xlcorpus IMAGE train --config cfg.yaml --nproc 8
set -eu
if [ "$#" -eq 0 ] || [ "$1" = "--help" ] || [ "$1" = "-h" ]; then
  exec python -m xlmodel train --help
fi
if [ -n "${RDZV_ENDPOINT:-}" ]; then
  exec torchrun --nnodes="${NNODES:-1}" --node_rank="${NODE_RANK:-0}" --nproc_per_node="${NPROC_PER_NODE}" \
    --rdzv_backend=c10d --rdzv_endpoint="${RDZV_ENDPOINT}" -m xlmodel train "$@"
fi
exec torchrun --standalone --nproc_per_node="${NPROC_PER_NODE}" -m xlmodel train "$@"
