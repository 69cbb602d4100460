#!/usr/bin/env bash
# One device visit: GPU kernel tests + GPU-vs-CPU timing. Needs numpy, numba, CuPy, pytest (no qiskit).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/gpu_out}; mkdir -p "$OUT"
export PYTHONPATH=$PWD NUMBA_CACHE_DIR=/tmp/numba_cache PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
python3 -c "import cupy, numba, numpy; print('cupy', cupy.__version__, 'numba', numba.__version__, 'numpy', numpy.__version__)" | tee -a "$OUT/gpu.txt"
timeout 150 python3 -m pytest -q -p no:cacheprovider -o addopts="" tests/test_kernel_gpu.py tests/test_kernel.py 2>&1 | tee "$OUT/pytest.log" | tail -15
timeout 200 python3 scripts/bench_gpu.py 2>&1 | tee "$OUT/bench_gpu.log"
