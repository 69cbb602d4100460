#!/usr/bin/env bash
# One device visit: the GPU kernel's tests and a GPU-vs-CPU timing, for a machine
# with a CUDA GPU, CuPy, numba, numpy and pytest (no qiskit, no internet).
#     bash scripts/gpu_check.sh            (logs also go to $OUT, default /tmp/gpu_out)
# 1. tests/test_kernel_gpu.py (CuPy kernel vs numba kernel) + tests/test_kernel.py;
# 2. scripts/bench_gpu.py: one p=2 evaluation on GPU and CPU for n = 12..30 (JSON
#    lines) and the crossover n from which the GPU wins;
# 3. scripts/bench_gpu.py --big 32 33: complex64 state + float32 diagonal built on
#    the device (48 GiB at 32 qubits, 96 GiB at 33), one evaluation each, norm and
#    energy range checked, the exact gradient where a second state fits.
# Budget: under 7 minutes (numba compiles cold in ~2 min on 2 loaded cores, less
# on the device's 16; the tests take ~1 min, the timings stop starting new sizes
# after 90 s, the big check ~1 min; each step has its own timeout).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/gpu_out}
mkdir -p "$OUT"
export PYTHONPATH=$PWD NUMBA_CACHE_DIR=${NUMBA_CACHE_DIR:-/tmp/numba_cache} PYTHONUNBUFFERED=1
PY=${PYTHON:-python3}

echo "== environment"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 | tee "$OUT/gpu.txt"
$PY - <<'PYEOF' 2>&1 | tee -a "$OUT/gpu.txt"
import os, platform
import numpy, numba
print("python", platform.python_version(), "numpy", numpy.__version__, "numba", numba.__version__,
      "numba threads", numba.config.NUMBA_NUM_THREADS, "cpus", os.cpu_count())
try:
    import cupy
    print("cupy", cupy.__version__, "devices", cupy.cuda.runtime.getDeviceCount())
except Exception as exc:  # report and go on: the GPU tests will skip
    print("cupy unavailable:", exc)
PYEOF

echo "== tests"
timeout 240 $PY -m pytest -q -p no:cacheprovider -o addopts="" -rs \
    tests/test_kernel_gpu.py tests/test_sampler_gpu.py tests/test_kernel.py tests/test_kernel_gradient.py 2>&1 | tee "$OUT/pytest.log" | tail -25
rc_tests=${PIPESTATUS[0]}

echo "== timings"
timeout 120 $PY scripts/bench_gpu.py --budget-s 90 2>&1 | tee "$OUT/bench_gpu.log"
rc_bench=${PIPESTATUS[0]}

echo "== 32-33 qubits"
timeout 150 $PY scripts/bench_gpu.py --big 32 33 2>&1 | tee "$OUT/bench_gpu_big.log"
rc_big=${PIPESTATUS[0]}

echo "== done: tests rc=$rc_tests bench rc=$rc_bench big rc=$rc_big" | tee -a "$OUT/gpu.txt"
[ "$rc_tests" -eq 0 ] && [ "$rc_bench" -eq 0 ] && [ "$rc_big" -eq 0 ]
