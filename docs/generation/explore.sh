#!/bin/bash
# The short exploration runs of docs/generation.md: train with `emov2 gen train`, then score every kept checkpoint
# (EMA weights, 500 class-balanced samples, DPM-Solver++ 20 steps, against 5000 real test images) with the
# Fashion-MNIST classifier in runs/clf (see docs/generation.md), and draw a cfg-3 grid of the last one.
# usage: docs/generation/explore.sh NAME MODEL STEPS CKPT_EVERY "extra train args" [EVAL_CFGS]
set -e
cd "$(dirname "$0")/../.."  # the repository root
export PYTHONPATH=src OMP_NUM_THREADS=1
PY="nice -n 10 ${PYTHON:-python}"
NAME=$1; MODEL=$2; STEPS=$3; EVERY=$4; EXTRA=$5; CFGS=${6:-"1 3"}
OUT=runs/explore/$NAME
start=$(date +%s)
$PY -m emov2 gen train --model $MODEL --data fashion-mnist --output $OUT --steps $STEPS --ckpt-every $EVERY \
  --log-every 50 --threads 1 --no-progress $EXTRA
echo "train_seconds $(( $(date +%s) - start )) to $STEPS" >> $OUT/time.txt
for CK in $OUT/checkpoints/step_*.pt; do
  S=$(basename $CK .pt)
  for CFG in $CFGS; do
    [ -f $OUT/eval_${S}_cfg${CFG}.json ] && continue
    $PY -m emov2 gen eval --checkpoint $CK --classifier runs/clf/best.safetensors --num-samples 500 --num-real 5000 \
      --sampler dpm --steps 20 --cfg-scale $CFG --threads 1 --no-progress --batch-size 250 --json $OUT/eval_${S}_cfg${CFG}.json > /dev/null
  done
done
$PY -m emov2 gen sample --checkpoint $OUT/checkpoints/last.pt --per-class 8 --sampler dpm --steps 20 --cfg-scale 3 \
  --out $OUT/grid_cfg3.png --threads 1 --no-progress
python3 - $OUT <<'PY'
import json, glob, sys
for f in sorted(glob.glob(sys.argv[1] + "/eval_*.json")):
    r = json.load(open(f)); print(f.split("/")[-1], "fid %.2f acc %.3f" % (r["fid"], r["class_accuracy"]))
PY
