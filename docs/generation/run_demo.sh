#!/bin/bash
# The embedded Fashion-MNIST comparison of docs/generation.md: D-EMOv2-T/4 vs DiT-T/4 with the same budget
# (steps, batch, lr, seed), one CPU thread each. Run from the repository root; writes runs/ and docs/generation/.
set -e
PY="nice -n 10 python"
$PY -m emov2 gen train-classifier --data fashion-mnist --output runs/fmnist_clf.pt --epochs 0.3 --lr 3e-3 --threads 1
TRAIN="--data fashion-mnist --batch-size 32 --lr 1e-3 --grad-clip 1.0 --ema-decay 0.999 --log-every 20 \
  --sample-every 200 --sample-steps 20 --sample-cfg 4 --threads 1 --no-progress"
EVAL="--classifier runs/fmnist_clf.pt --num-samples 500 --num-real 5000 --sampler ddim --steps 25 --threads 1"
for STEPS in 400 800; do
  for M in d_emov2_t_4 dit_t_4; do
    $PY -m emov2 gen train --model $M --output runs/$M --steps $STEPS --resume auto $TRAIN
    for CFG in 1 4; do
      $PY -m emov2 gen eval --checkpoint runs/$M/checkpoints/last.pt --cfg-scale $CFG $EVAL \
        --json runs/eval${STEPS}_${M}_cfg${CFG}.json
    done
  done
done
for M in d_emov2_t_4 dit_t_4; do
  $PY -m emov2 gen sample --checkpoint runs/$M/checkpoints/last.pt --classes all --per-class 8 --sampler ddim \
    --steps 50 --cfg-scale 4 --out docs/generation/${M}_cfg4.png --threads 1
done
$PY docs/generation/real_baseline.py runs/fmnist_clf.pt 500 5000   # real-vs-real reference
$PY docs/generation/plot_losses.py                                    # docs/generation/loss_curves.png
