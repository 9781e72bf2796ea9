#!/usr/bin/env bash
# Mutation testing of the modules where a bug moves money or rights (issue 16).
#   bench/mutation.sh [MODULE...]     modules: permissions ledger payments orders review claims subsidies
# Each module runs on its own copy of the tree (/tmp), mutating only that module and running
# only the tests that exercise it (the per-module table below), so a module takes minutes,
# not hours. Prints one JSON object: per module, mutants killed / total and the kill rate;
# the survivors are listed in the module's mutants/ directory (see "survivors" in the JSON).
# Not part of CI: it is slow. Run it niced on a shared machine: nice -n 10 bench/mutation.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
MUTMUT="$ROOT/.venv/bin/mutmut"
[[ -x $MUTMUT ]] || { echo "mutmut is not installed: scripts/setup" >&2; exit 1; }
KEEP=${MUTATION_KEEP:-}   # set to keep the /tmp copies (to browse survivors with mutmut show)

declare -A FILES=(
  [permissions]='"marketplace/permissions.py"'
  [ledger]='"marketplace/ledger/*"'
  [payments]='"marketplace/payments/*"'
  [orders]='"marketplace/orders/*"'
  [review]='"marketplace/review/*"'
  [claims]='"marketplace/claims/*"'
  [subsidies]='"marketplace/subsidies/*"'
)
declare -A TESTS=(
  [permissions]='"tests/test_permissions.py"'
  [ledger]='"tests/ledger"'
  [payments]='"tests/payments", "tests/orders/test_trade.py"'
  [orders]='"tests/orders"'
  [review]='"tests/review"'
  [claims]='"tests/claims"'
  [subsidies]='"tests/subsidies"'
)

modules=("$@")
((${#modules[@]})) || modules=(permissions ledger payments orders review claims subsidies)
results=()
for m in "${modules[@]}"; do
  [[ -n ${FILES[$m]:-} ]] || { echo "unknown module $m" >&2; exit 2; }
  work=$(mktemp -d "/tmp/mutation-$m.XXXXXX")
  # The working tree as it is (uncommitted tests included), without caches and old runs.
  tar -C "$ROOT" --exclude=./mutants --exclude=./.cache --exclude='*/__pycache__' -cf - . | tar -C "$work" -xf -
  # Tests read the policy from the repository's ../shared; mutmut runs them in mutants/.
  [[ -e $ROOT/../shared ]] && ln -s "$(realpath "$ROOT/../shared")" "$work/shared"
  python3 - "$work/pyproject.toml" "${FILES[$m]}" "${TESTS[$m]}" <<'PY'
import re, sys
path, files, tests = sys.argv[1:]
text = open(path).read()
text = re.sub(r"only_mutate = \[.*?\]", f"only_mutate = [{files}]", text, flags=re.S)
text = re.sub(r"pytest_add_cli_args_test_selection = \[.*?\]",
              f"pytest_add_cli_args_test_selection = [{tests}]", text, flags=re.S)
open(path, "w").write(text)
PY
  echo "[mutation] $m in $work" >&2
  (cd "$work" && "$MUTMUT" run --max-children "${MUTATION_CHILDREN:-2}" >"$work/mutmut.log" 2>&1) ||
    echo "[mutation] $m: mutmut exited nonzero, see $work/mutmut.log" >&2
  (cd "$work" && "$MUTMUT" export-cicd-stats >/dev/null 2>&1) || true
  (cd "$work" && "$MUTMUT" results --all true >"$work/results.txt" 2>/dev/null) || true
  results+=("$(python3 - "$m" "$work" <<'PY'
import json, sys
from pathlib import Path
m, work = sys.argv[1:]
try:
    s = json.loads((Path(work) / "mutants/mutmut-cicd-stats.json").read_text())
except Exception as e:
    print(json.dumps({m: {"error": str(e), "dir": work}})); sys.exit()
survivors = [line.split(":")[0].strip() for line in (Path(work) / "results.txt").read_text().splitlines()
             if line.strip().endswith(("survived", "no tests"))]
total = s["killed"] + s["survived"] + s.get("no_tests", 0) + s.get("timeout", 0) + s.get("suspicious", 0)
killed = s["killed"] + s.get("timeout", 0)
print(json.dumps({m: {"killed": killed, "total": total, "kill_rate": round(killed / total, 3) if total else None,
                      "survived": s["survived"], "no_tests": s.get("no_tests", 0), "survivors": survivors,
                      "dir": work}}))
PY
)")
  [[ -n $KEEP ]] || rm -rf "$work"
done
python3 -c 'import json,sys; out={}; [out.update(json.loads(l)) for l in sys.argv[1:]]; print(json.dumps(out, indent=1, ensure_ascii=False))' "${results[@]}"
