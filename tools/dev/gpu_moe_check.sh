#!/usr/bin/env bash
# The MoE engine's GPU checks (issue: dispatch on CUDA + benchmark), as one
# device run. Two steps:
#
#   here, once:   bash tools/dev/gpu_moe_check.sh stage
#                 (../shared/gpu/stage.sh plus pytest's wheels, into .gpu/)
#   device run:   carry [".gpu"], command:
#                 bash tools/dev/gpu_moe_check.sh run
#   if device time is left, a second call while the machine is warm:
#                 bash tools/dev/gpu_moe_check.sh compile
#   and/or (DynamicDet's batched routing, ~2 min once mmcv is built):
#                 bash tools/dev/gpu_moe_check.sh dynamicdet
#
# `run` installs the staged stack (../shared/gpu/README.md: builds mmcv's
# CUDA ops, ~4.5 min on a fresh machine), runs tests/moe/test_moe_engine_cuda.py
# and tools/benchmark_moe.py --device cuda, and writes everything under $OUT
# (gpu.txt, pytest.txt, benchmark.md).
set -euo pipefail
cd "$(dirname "$0")/../.."

device_env() {  # the staged stack on PYTHONPATH, logs to $out
  out=${OUT:-/tmp/gpu_moe_check}; mkdir -p "$out"
  bash .gpu/setup.sh 2>&1 | tail -5
  export PYTHONPATH=$(cat /tmp/dynmoe_pythonpath)
}

case "${1:-}" in
stage)
  bash ../shared/gpu/stage.sh
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux2014_x86_64 -d .gpu/whl \
    pytest pluggy iniconfig packaging pygments
  du -sh .gpu ;;
run)
  device_env
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$out/gpu.txt"
  python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)' | tee -a "$out/gpu.txt"
  python3 -m pytest -q -p no:cacheprovider -m cuda tests/moe/test_moe_engine_cuda.py 2>&1 \
    | tee "$out/pytest.txt" | tail -25 || true
  python3 tools/benchmark_moe.py --device cuda --modes infer train graph --count-ops 2>&1 | tee "$out/benchmark.md" ;;
compile)  # torch.compile (inductor) at 8x900 and 2x900: ~2-3 min of compiling
  device_env
  python3 tools/benchmark_moe.py --device cuda --sizes 8x900 2x900 --modes compile \
    --paths auto grouped_mm dense 2>&1 | tee "$out/benchmark_compile.md" ;;
dynamicdet)  # batched dynamic inference on CUDA (DynamicDet issue): images/s at
  # batch 1 and 8 beside the static paths on 400 synthetic val images. Arguments:
  # CONFIG:CKPT pairs (carry the checkpoints); none: both CPU step-1 configs with
  # untrained weights (the batching mechanics; post-processing differs from trained)
  device_env
  python3 tools/make_synthetic.py /tmp/synthetic --seed 0 --num-train 1 --num-val 100 \
    --num-zeroshot 0 --if-missing | tail -1
  shift
  models=("$@")
  [ ${#models[@]} -gt 0 ] || models=(
    configs/dynamicdet/dynamicdet-retinanet_r18-tiny_3e_synthetic-mixed.py
    configs/dynamicdet/dynamicdet-faster-rcnn_r18-tiny_3e_synthetic-mixed.py)
  for i in "${!models[@]}"; do
    IFS=: read -r config ckpt <<< "${models[$i]}"
    echo "## $config ${ckpt:-(untrained)}" | tee -a "$out/dynamicdet.md"
    DYNMOE_SYNTHETIC_ROOT=/tmp/synthetic/ python3 tools/benchmark_dynamicdet.py \
      "$config" $ckpt --device cuda --batch-sizes 1 8 --hard-ratio 0.5 --max-images 400 \
      --out "$out/dynamicdet_$i.json" 2>&1 | grep -v -i warn | tail -14 | tee -a "$out/dynamicdet.md"
  done ;;
*)
  echo "usage: $0 stage|run|compile|dynamicdet" >&2; exit 2 ;;
esac
