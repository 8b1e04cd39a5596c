#!/usr/bin/env bash
# The GPU tables of docs/benchmarks.md in one call on a lent GPU machine (about 5 minutes on an H100):
# parity of every CUDA path, bf16 inference (compiled, then eager channels_last), bf16 training, a profile, and
# compiled training with whatever time is left (run it with `run`'s timeout_s at its 600 s maximum).
#
# Needs: the official EMOv2 code in .official/ (git-ignored, never committed; official_env.py exposes
# `official`), and, where the machine's timm is older, a timm wheel in .whl/. Results: $OUT/gpu.log and
# $OUT/gpu_results.tar.gz (bench CSV/JSON/PNG per table, the profile), refreshed after every stage.
set -u
OUT=${OUT:-out/gpu}
mkdir -p "$OUT"
RES=/tmp/gpu_results
mkdir -p "$RES"
if ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site
fi
export PYTHONPATH=src:${PYTHONPATH:-} PYTHONUNBUFFERED=1
OFFICIAL=(--extra-path .official
  --extra-model official_emov2_5m=official_env:official.EMO2_5M_k5_hybrid@79.4
  --extra-model official_emov2_1m=official_env:official.EMO2_1M_k5_hybrid@72.3)
BENCH="python3 -m emov2.cli.main bench --device cuda --precision bf16 --channels-last --runtimes="
pack() { tar -czf "$OUT/gpu_results.tar.gz" -C "$RES" . 2>/dev/null; }
stage() {  # stage NAME SECONDS COMMAND...
  local name=$1 limit=$2; shift 2
  echo "=== $name ($(date -u +%H:%M:%S))"
  timeout "$limit" "$@" 2>&1 | tee "$RES/$name.log" | grep -v "repetition .* done"
  echo "=== $name exit ${PIPESTATUS[0]}"
  pack
}
{
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv
  python3 -c "import torch, timm; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'timm', timm.__version__)"
  # The compiled table first: its last number predates the emov2.layers.capture fix (see docs/benchmarks.md).
  stage parity 120 python3 docs/gpu_check.py
  stage compiled 200 $BENCH --compile --models emov2_5m+fused,edgenext_small --extra-path .official \
    --extra-model official_emov2_5m=official_env:official.EMO2_5M_k5_hybrid@79.4 \
    --batch-size 256 --warmup-calls 5 --reps 15 --calls-per-sample 10 --output "$RES/compiled"
  stage infer 150 $BENCH --models emov2_5m,emov2_5m+fused,edgenext_small,mobilenetv3_large_100,emov2_1m+fused \
    "${OFFICIAL[@]}" --batch-size 256 --warmup-calls 5 --reps 15 --calls-per-sample 10 --output "$RES/infer"
  stage train 120 $BENCH --mode train --models emov2_5m,edgenext_small,emov2_1m \
    "${OFFICIAL[@]}" --batch-size 128 --warmup-calls 3 --reps 10 --calls-per-sample 5 --output "$RES/train"
  stage profile 60 python3 docs/gpu_profile.py --out "$RES/profile.txt"
  stage parity_compiled 90 python3 docs/gpu_check.py --models emov2_5m --compile
  # Whatever time is left: compiled training (both sides compiled; slow to compile, so last).
  stage train_compiled 240 $BENCH --mode train --compile --models emov2_5m --extra-path .official \
    --extra-model official_emov2_5m=official_env:official.EMO2_5M_k5_hybrid@79.4 \
    --batch-size 128 --warmup-calls 3 --reps 8 --calls-per-sample 5 --output "$RES/train_compiled"
} 2>&1 | tee "$OUT/gpu.log"
