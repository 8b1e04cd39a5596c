#!/usr/bin/env bash
# Before/after CPU comparison of two checkouts of emov2 with the same `emov2 bench` commands, interleaved:
# round 1 runs every case with OLD then NEW, round 2 with NEW then OLD, and so on, so that drifting machine load
# hits both alike. Prints each case's median over rounds of the per-run median (ms) and NEW/OLD.
#
#   git -C /work/main worktree add --detach /work/wt/core-base 560f3b9      # the code before (once)
#   OLD=/work/wt/core-base NEW=/work/wt/core ROUNDS=5 THREADS=2 nice -n 10 bash docs/ab_bench.sh
#
# Environment: OLD, NEW (checkouts; their src/ goes first on PYTHONPATH), PY (python with torch/timm),
# ROUNDS (default 5), THREADS (default 2), REPS (repetitions inside one bench run, default 7), OUT (results dir).
# The table gives the ratio of the medians and, more robust to load drifting between rounds, the median of the
# per-round ratios (old and new run back to back in each round).
set -euo pipefail
OLD=${OLD:?set OLD to the old checkout}
NEW=${NEW:-$(cd "$(dirname "$0")/.." && pwd)}
PY=${PY:-/work/main/.venv/bin/python}
ROUNDS=${ROUNDS:-5}
THREADS=${THREADS:-2}
REPS=${REPS:-7}
OUT=${OUT:-$(mktemp -d -t emov2_ab.XXXXXX)}

# name | emov2 bench arguments
CASES=(
  "infer_b1_224|--models emov2_1m,emov2_5m --batch-size 1 --img-size 224 --channels-last --calls-per-sample 3"
  "infer_b1_224_fused|--models emov2_1m,emov2_5m --batch-size 1 --img-size 224 --channels-last --no-eager --fused --calls-per-sample 3"
  "train_b128_32|--models emov2_1m --mode train --batch-size 128 --img-size 32 --num-classes 10 --calls-per-sample 1"
)

flags_for() {  # flags_for <checkout>: the bench flag names that checkout knows (they were renamed in round 2;
  # --no-eager became --runtimes= in round 3)
  local help
  help=$(PYTHONPATH="$1/src" "$PY" -m emov2 bench --help)
  if grep -q -- "--calls-per-sample" <<< "$help"; then
    echo -n "--calls-per-sample --warmup-calls --output"
  else
    echo -n "--iters --warmup --out"
  fi
  if grep -q -- "--runtimes" <<< "$help"; then echo " --runtimes="; else echo " --no-eager"; fi
}

run() {  # run <label> <checkout> <round> <case name> <args...>
  local label=$1 tree=$2 round=$3 name=$4
  shift 4
  local dir="$OUT/$name/$label.$round"
  local calls warmup out no_eager
  read -r calls warmup out no_eager <<< "$(flags_for "$tree")"
  local args=("${@/--calls-per-sample/$calls}")
  args=("${args[@]/--no-eager/$no_eager}")
  OMP_NUM_THREADS=$THREADS PYTHONPATH="$tree/src" "$PY" -m emov2 bench "${args[@]}" --threads "$THREADS" \
    --reps "$REPS" "$warmup" 2 "$out" "$dir" > "$dir.log" 2>&1 || { echo "FAILED: $label $name (see $dir.log)" >&2; exit 1; }
}

echo "results in $OUT (OLD=$OLD NEW=$NEW, $ROUNDS rounds, $THREADS threads)" >&2
for ((r = 1; r <= ROUNDS; r++)); do
  for c in "${CASES[@]}"; do
    name=${c%%|*}
    read -r -a args <<< "${c#*|}"
    mkdir -p "$OUT/$name"
    if ((r % 2)); then order=(old new); else order=(new old); fi
    for label in "${order[@]}"; do
      if [[ $label == old ]]; then tree=$OLD; else tree=$NEW; fi
      run "$label" "$tree" "$r" "$name" "${args[@]}"
    done
    echo "round $r/$ROUNDS: $name done" >&2
  done
done

"$PY" - "$OUT" <<'EOF'
import json, statistics, sys
from pathlib import Path

out = Path(sys.argv[1])
print("| case | model | config | old ms | new ms | new/old (medians) | new/old per round: median (min-max) |")
print("|---|---|---|---:|---:|---:|---:|")
for case in sorted(p for p in out.iterdir() if p.is_dir()):
    runs = {"old": {}, "new": {}}  # label -> (model, config) -> round -> median ms
    for f in case.glob("*/bench.json"):
        label, rnd = f.parent.name.split(".")
        for row in json.loads(f.read_text())["rows"]:
            runs[label].setdefault((row["model"], row["config"]), {})[int(rnd)] = row["median_ms"]
    for key in sorted(runs["old"]):
        o, n = runs["old"][key], runs["new"].get(key, {})
        old, new = statistics.median(o.values()), statistics.median(n.values())
        paired = [n[r] / o[r] for r in sorted(o) if r in n]  # same round: the same machine load for both
        print(f"| {case.name} | {key[0]} | {key[1]} | {old:.2f} | {new:.2f} | {new / old:.3f} | "
              f"{statistics.median(paired):.3f} ({min(paired):.2f}-{max(paired):.2f}) |")
EOF
