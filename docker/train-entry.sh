#!/bin/sh
# torchrun entry of the trainer image: one process per GPU on this node (NPROC_PER_NODE, default "gpu").
# Multi-node: set NNODES, NODE_RANK and RDZV_ENDPOINT (host:port of node 0) on every node.
# Arguments are passed to `xlcorpus train`.
set -eu
if [ "${1:-}" = "--help" ] || [ "${1:-}" = "-h" ]; then
  exec xlcorpus train --help
fi
if [ -n "${RDZV_ENDPOINT:-}" ]; then
  exec torchrun --nnodes="${NNODES:-1}" --node_rank="${NODE_RANK:-0}" --nproc_per_node="${NPROC_PER_NODE}" \
    --rdzv_backend=c10d --rdzv_endpoint="${RDZV_ENDPOINT}" --no-python xlcorpus train "$@"
fi
exec torchrun --standalone --nproc_per_node="${NPROC_PER_NODE}" --no-python xlcorpus train "$@"
