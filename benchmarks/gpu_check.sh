#!/usr/bin/env bash
# The CUDA checks as one script, for a lent GPU machine (run from the repository root):
# the CUDA tests, the shipped quadratic and the regression suite on the GPU, and the
# Rosenbrock lr × momentum sweep at 65,536 and 1,000,000 runs.
# GPU images may lack pydantic/typer: put their wheels in .whl/ (see docs/benchmarks.md, "CUDA").
set -u
export PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/gdplay-gpu}
mkdir -p "$OUT"
if [ -d .whl ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH="/tmp/site:$PWD"
else
  export PYTHONPATH="$PWD"
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c "import torch; print('torch', torch.__version__, 'cuda available:', torch.cuda.is_available())"
echo "== CUDA tests"
python3 -m pytest -q -p no:cacheprovider -m cuda tests/test_cuda.py tests/test_builtins_cuda.py tests/test_sweep.py 2>&1 \
  | tee "$OUT/cuda_tests.log" | tail -8
echo "== gdplay run on cuda"
python3 -m gdplay run configs/quadratic.yaml --device cuda --plain | tail -9
echo "== regression suite on cuda (float64 as written)"
python3 -m gdplay check configs/regression --set device=cuda > "$OUT/check_cuda.txt" 2>&1
echo "exit $?"; tail -4 "$OUT/check_cuda.txt"
echo "== sweeps"
python3 benchmarks/cuda_sweep.py --runs 65536 --steps 1000 2>&1 | tee "$OUT/sweep_65k.log"
python3 benchmarks/cuda_sweep.py 2>&1 | tee "$OUT/sweep_1m.log"
