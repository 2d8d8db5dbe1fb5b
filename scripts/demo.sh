#!/usr/bin/env bash
# The demo: set up .venv, render a small synthetic dataset of piano performances, decode it
# once into the prepared cache and transcribe its notes, train the multimodal PISA model
# (narrowed for a CPU) and the notes model on performances split by level, test the
# checkpoints chosen on the validation split, and print both models' test metrics beside
# the baselines and where the plots are.
#
# Data go to data/synthetic (cache and notes: data/synthetic_cache), the runs to
# work_dirs/demo and work_dirs/demo_notes.
# Running it again reuses the dataset and the cache and trains afresh.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)

bash scripts/setup.sh

PISA=.venv/bin/pisa
CONFIG=configs/synthetic/pisa_c3d-r18-small_1xb4-8x1x4-16e_synthetic-multimodal-unidist.py
NOTES_CONFIG=configs/synthetic/pisa_notes-small_1xb4-32x1x4-30e_synthetic-notes-unidist.py
DATA=data/synthetic
CACHE=data/synthetic_cache
WORK=work_dirs/demo
NOTES_WORK=work_dirs/demo_notes
# many short performances: every level has several in train and in test, and a model
# cannot tell the levels apart by recognising a few performances' looks
SYNTH_ARGS=(--performances 120 --seconds 6 --test-fraction 0.3 --seed 0)
export PISA_DATA_ROOT=$DATA PISA_CACHE_DIR=$CACHE  # read by the config

stamp="$DATA/.demo-synth-args"
if [ -f "$DATA/performances.csv" ] && [ "$(cat "$stamp" 2>/dev/null)" = "${SYNTH_ARGS[*]}" ]; then
  echo "== using the synthetic dataset in $DATA"
else
  echo "== rendering the synthetic dataset into $DATA"
  mkdir -p "$DATA"
  "$PISA" synth --out "$DATA" "${SYNTH_ARGS[@]}" --overwrite
  echo "${SYNTH_ARGS[*]}" > "$stamp"
fi

echo "== preparing the decoded cache in $CACHE"
"$PISA" prepare "$CONFIG" --cache-dir "$CACHE" | tail -n 1
echo "== transcribing the performances' notes into $CACHE/notes"
"$PISA" prepare "$NOTES_CONFIG" --cache-dir "$CACHE" > /dev/null

# train_and_test NAME CONFIG WORK_DIR: train (checkpoint chosen on the validation
# performances), then test that checkpoint on the held-out performances
train_and_test() {
  local name=$1 config=$2 work=$3
  echo "== training the $name; the checkpoint is chosen on the validation performances (log: $work/train.log)"
  rm -rf "$work"
  mkdir -p "$work"
  if ! "$PISA" train "$config" --work-dir "$work" 2>&1 | tee "$work/train.log" \
      | awk '/Epoch\(val\).*accuracy/ { sub(/ +confusion_matrix.*/, ""); print; fflush() }'; then
    tail -n 20 "$work/train.log" >&2
    exit 1
  fi
  local checkpoint
  checkpoint=$(.venv/bin/python -c 'import json, sys; print(json.load(open(sys.argv[1]))["checkpoint"])' "$work/results.json")
  echo "== testing $checkpoint on the held-out performances (log: $work/test.log)"
  "$PISA" test "$config" "$checkpoint" --work-dir "$work" > "$work/test.log" 2>&1 || {
    tail -n 20 "$work/test.log" >&2
    exit 1
  }
  for file in metrics_test.md comparison_test.md confusion_matrix_test.png reliability_test.png \
      training_curves.png; do
    if [ ! -s "$work/$file" ]; then
      echo "demo: $work/$file was not written" >&2
      exit 1
    fi
  done
}
train_and_test "PISA model (video + audio)" "$CONFIG" "$WORK"
train_and_test "notes model" "$NOTES_CONFIG" "$NOTES_WORK"

echo
.venv/bin/python - "$WORK/test_results.json" "$NOTES_WORK/test_results.json" <<'PY'
import json, sys
runs = {"PISA model": json.load(open(sys.argv[1])), "notes model": json.load(open(sys.argv[2]))}
for name, run in runs.items():
    decision = run["decision"]
    print(f"== {name}: decision chosen on the validation performances: "
          f"{decision['rule']['type']}, temperature {decision['temperature']:.3f}")
print("== test metrics (performances never seen in training) beside the baselines fitted on")
print("   the same training performances")
columns = {name: run["test_metrics"] for name, run in runs.items()}
for name, metrics in sorted(runs["PISA model"].get("baseline_metrics", {}).items()):
    if "error" in metrics:
        print(f"   ({name} could not be scored: {metrics['error']})")
    else:
        columns[name] = metrics
keys = ["accuracy", "performance_accuracy", "mae", "performance_mae", "within1",
        "performance_within1", "balanced_accuracy", "ece", "performance_ece"]
print("| metric | " + " | ".join(columns) + " |")
print("|---|" + "---:|" * len(columns))
for key in keys:
    cells = [f"{m[key]:.4f}" if isinstance(m.get(key), (int, float)) else "-" for m in columns.values()]
    print(f"| {key} | " + " | ".join(cells) + " |")
PY
echo
echo "chance: accuracy 0.1000 (10 levels), within1 0.2800 (uniform guesses, uniform levels)"
for work in "$WORK" "$NOTES_WORK"; do
  echo "$work: metrics_test.md, confusion_matrix_test.png, reliability_test.png, training_curves.png"
done
echo "demo finished in $(( $(date +%s) - start )) s"
