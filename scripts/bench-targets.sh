#!/usr/bin/env bash
# Runs every benchmark that BENCHMARKS.md compares with the reference's figures, in rounds, and
# prints images/s per line. Usage: scripts/bench-targets.sh [ROUNDS] [TRAINED_MNIST_TOY_CKPT STRATEGY_JSON]
# (the trained-model lines need a checkpoint and its `tarflow calibrate` strategy). Takes about
# 2.5 minutes a round on 2 cores; run it on a quiet machine.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
rounds="${1:-2}"
model="${2:-}"
strategy="${3:-}"
ips() { grep -o '"images_per_s":[0-9.]*' | tail -1 | cut -d: -f2; }
for r in $(seq "$rounds"); do
  echo "$(date +%H:%M:%S) round $r"
  for i in 1 2 3 4; do echo "sample seq unguided: $(./tarflow bench sample --sampler sequential --steps 8 --json 2>/dev/null | ips)"; done
  for i in 1 2; do echo "sample seq cfg1: $(./tarflow bench sample --sampler sequential --cfg 1 --steps 6 --json 2>/dev/null | ips)"; done
  echo "sample jacobi default (random): $(./tarflow bench sample --sampler jacobi --steps 3 --json 2>/dev/null | ips)"
  if [ -n "$model" ]; then
    echo "trained seq: $(./tarflow bench sample --model "$model" --sampler sequential --steps 6 --json 2>/dev/null | ips)"
    if [ -n "$strategy" ]; then
      echo "trained jacobi calibrated: $(./tarflow bench sample --model "$model" --sampler jacobi --strategy "$strategy" --steps 6 --json 2>/dev/null | ips)"
    fi
    echo "trained jacobi default: $(./tarflow bench sample --model "$model" --sampler jacobi --steps 3 --json 2>/dev/null | ips)"
  fi
  for p in float32 bf16; do
    for b in 100 250 500; do
      echo "bpd $p b$b: $(./tarflow bench bpd --batch "$b" --steps 6 --precision "$p" --json 2>/dev/null | ips)"
    done
  done
  for p in float32 bf16; do
    echo "train toy $p 1proc: $(./tarflow bench train --preset mnist-toy --unconditional --steps 4 --warmup 1 --precision "$p" --json 2>/dev/null | ips)"
    echo "train toy $p 2workers: $(./tarflow bench distributed --arch mnist-toy --nproc 2 --threads 1 --steps 6 --warmup 2 --precision "$p" --json 2>/dev/null | ips)"
  done
  echo "train small 1proc: $(./tarflow bench train --preset fmnist-small --steps 30 --warmup 5 --json 2>/dev/null | ips)"
  echo "train small 2workers: $(./tarflow bench distributed --arch fmnist-small --nproc 2 --threads 1 --steps 30 --warmup 5 --json 2>/dev/null | ips)"
done
echo "$(date +%H:%M:%S) done"
