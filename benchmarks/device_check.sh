#!/usr/bin/env bash
# The device check: a few SFT steps of the bundled base on this machine's accelerator (bf16 where it has
# it; also 4-bit QLoRA when bitsandbytes is installed) and the same steps on the CPU, each adapter
# evaluated on the dev gate, and the training tokens/s on the device divided by on the CPU.
#
#   bash benchmarks/device_check.sh [STEPS]      # from the repository root, with .venv built (make install)
#
# On a machine without an accelerator it says so and checks the CPU path alone.
set -euo pipefail

STEPS="${1:-8}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY="${PARITY_PYTHON:-$ROOT/.venv/bin/python}"
WS="$(mktemp -d)/ws"
export HF_HUB_OFFLINE=1

parity() { "$PY" -m parity "$@"; }

DEVICE="$("$PY" -c 'from parity.train.placement import probe_machine as p; m = p(); print("cuda" if m.cuda else "mps" if m.mps else "cpu")')"
HAS_BNB="$("$PY" -c 'import importlib.util as u; print(int(u.find_spec("bitsandbytes") is not None))')"
echo "device check: accelerator=$DEVICE bitsandbytes=$HAS_BNB steps=$STEPS workspace=$WS"
"$PY" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "devices", torch.cuda.device_count())'

parity init "$WS" --example discovery >/dev/null
cd "$WS"
COMMON=(--max-steps "$STEPS" --save-steps 1000 --batch-size 4 --grad-accum 2)

runs=("cpu:--device cpu")
if [[ "$DEVICE" != cpu ]]; then
  runs+=("$DEVICE:--device $DEVICE")
  if [[ "$HAS_BNB" == 1 && "$DEVICE" == cuda ]]; then
    runs+=("${DEVICE}-4bit:--device $DEVICE --quantize 4bit")
  fi
else
  echo "no accelerator here: only the CPU run (the device rows need a CUDA or MPS machine)"
fi

for run in "${runs[@]}"; do
  name="check-${run%%:*}"
  # shellcheck disable=SC2206
  flags=(${run#*:})
  parity train sft --name "$name" "${COMMON[@]}" "${flags[@]}"
  printf 'model: hf:smollm2-135m\nadapter: %s\n' "$name" > "agents/$name.yaml"
  sed -n '/^prompt:/,$p' agents/baseline.yaml >> "agents/$name.yaml"
  parity run "$name" --gate dev --hypothesis "device check: $run"
done

"$PY" - <<'EOF'
from pathlib import Path

from parity.store import Store
from parity.task import load_workspace

ws = load_workspace(Path("."))
store = Store.for_workspace(ws)
quality = {e.agent_name: e.quality for e in store.experiments()}
rows = {a.name: a for a in store.adapters() if a.name.startswith("check-")}
cpu = rows["check-cpu"].summary.get("tokens_per_s") or 0.0
print(f"\n{'adapter':22} {'placement':34} {'train tokens/s':>15} {'÷ CPU':>7} {'dev quality':>12}")
for name, row in rows.items():
    placed = row.options.get("placement", {})
    where = f"{placed.get('device')} {placed.get('precision')} {placed.get('quantize')}"
    rate = row.summary.get("tokens_per_s") or 0.0
    ratio = rate / cpu if cpu else float("nan")
    q = quality.get(name)
    print(f"{name:22} {where:34} {rate:15.1f} {ratio:7.2f} {q if q is None else round(q, 3)!s:>12}")
EOF
