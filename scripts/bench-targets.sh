#!/usr/bin/env bash
# The performance table against the reference (`tarflow bench all`), once with the environment's
# OpenBLAS kernel set (OPENBLAS_CORETYPE as set, e.g. Haswell: AVX2) and once with it unset
# (OpenBLAS picks the CPU's own kernels, AVX-512 where the CPU has them). Arguments go to both runs,
# e.g. scripts/bench-targets.sh --train-steps 2 --large-steps 0. See BENCHMARKS.md, "Running the
# benchmarks". Run it on a quiet machine.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
echo "== OPENBLAS_CORETYPE as set (${OPENBLAS_CORETYPE:-unset})"
./tarflow bench all "$@"
echo
echo "== OPENBLAS_CORETYPE unset"
env -u OPENBLAS_CORETYPE ./tarflow bench all "$@"
