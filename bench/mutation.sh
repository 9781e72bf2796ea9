#!/usr/bin/env bash
# Mutation testing of the modules where a bug moves money or rights (issue 16).
#   bench/mutation.sh [MODULE...]     modules: permissions ledger payments orders review claims subsidies
# One module at a time, each with mutmut's --max-children ${MUTATION_CHILDREN:-2}.
# Each module runs on its own copy of the tree (/tmp), mutating only that module and running
# only the tests that exercise it (the per-module table below), so a module takes minutes,
# not hours. Prints one JSON object: per module killed, survived, timeout, total and rate;
# the survivors are listed in the module's mutants/ directory (see "survivors" in the JSON).
# Not part of CI: it is slow. Run it niced on a shared machine: nice -n 10 bench/mutation.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
MUTMUT="$ROOT/.venv/bin/mutmut"
[[ -x $MUTMUT ]] || { echo "mutmut is not installed: scripts/setup" >&2; exit 1; }
KEEP=${MUTATION_KEEP:-}   # set to keep the /tmp copies (to browse survivors with mutmut show)
CHILDREN=${MUTATION_CHILDREN:-2}
# MUTATION_SAMPLE=N runs a random sample of N mutants per module (seed MUTATION_SEED) instead of
# all of them: an estimate of the kill rate (N=200 gives about ±4 points at 90 %) when a full run
# would take hours on a shared machine. The JSON then says "sampled": N.
SAMPLE=${MUTATION_SAMPLE:-}
SEED=${MUTATION_SEED:-16}
# MUTATION_RECHECK=/tmp/mutation-MODULE.XXXX (a kept run; one module): after writing tests,
# run that run's survivors again with the tests as they are now.
RECHECK=${MUTATION_RECHECK:-}

declare -A FILES=(
  [permissions]='"marketplace/permissions.py"'
  [ledger]='"marketplace/ledger/*"'
  [payments]='"marketplace/payments/*"'
  [orders]='"marketplace/orders/*"'
  [review]='"marketplace/review/*"'
  [claims]='"marketplace/claims/*"'
  [subsidies]='"marketplace/subsidies/*"'
)
# The tests that exercise each module (paths that do not exist are dropped, so a test folder
# may move without breaking the run: tests/trade is being split into tests/listings and
# tests/orders). Lean on purpose: mutmut runs, per mutant, only those of these tests that
# reach the mutated function. Options (--ignore=PATH) go to pytest as they are: a test that
# starts gunicorn (tests/live.py) cannot run in mutmut's copy, which has no .venv.
declare -A TESTS=(
  [permissions]='tests/test_permissions.py'
  [ledger]='tests/ledger'
  [payments]='tests/payments --ignore=tests/payments/test_bank_races.py tests/trade/test_trade.py tests/trade/test_rights.py tests/orders/test_trade.py tests/orders/test_rights.py'
  [orders]='tests/orders tests/trade/test_trade.py tests/trade/test_rights.py tests/faults/test_refusals.py tests/payments/test_app_flows.py'
  [review]='tests/review tests/security/test_separation_of_duties.py tests/claims/test_payout_record.py'
  [claims]='tests/claims tests/review'
  [subsidies]='tests/subsidies tests/programmes/test_hte_cases.py tests/reforms/test_engine_parameters.py'
)

modules=("$@")
((${#modules[@]})) || modules=(permissions ledger payments orders review claims subsidies)
results=()
for m in "${modules[@]}"; do
  [[ -n ${FILES[$m]:-} ]] || { echo "unknown module $m" >&2; exit 2; }
  names=()
  if [[ -n $RECHECK ]]; then
    # Recheck a kept run: take the tests as they are now and run its survivors again (of its
    # sample, if it was one). mutmut collects which tests reach what for the new tests only.
    work=$RECHECK
    [[ -f $work/pyproject.toml && -d $work/mutants ]] || { echo "not a kept mutation run: $work" >&2; exit 2; }
    rm -rf "$work/tests" && cp -r "$ROOT/tests" "$work/tests"
    mapfile -t names < <(python3 - "$work" <<'PY'
import json, sys
from pathlib import Path
work = Path(sys.argv[1])
codes = {}
for meta in (work / "mutants").rglob("*.py.meta"):
    codes.update(json.loads(meta.read_text())["exit_code_by_key"])
keys = (work / "sample.txt").read_text().split() if (work / "sample.txt").exists() else sorted(codes)
print("\n".join(k for k in keys if codes.get(k) in (0, 5, 33, None)))
PY
)
    [[ -f $work/sample.txt ]] && sample=1 || sample=
    echo "[mutation] $m: rechecking ${#names[@]} survivors in $work" >&2
  else
  work=$(mktemp -d "/tmp/mutation-$m.XXXXXX")
  # The working tree as it is (uncommitted tests included), without caches and old runs.
  tar -C "$ROOT" --exclude=./mutants --exclude=./.cache --exclude='*/__pycache__' -cf - . | tar -C "$work" -xf -
  # Tests read the policy from the repository's ../shared (tests/policy.py finds it, in a git
  # worktree too); mutmut runs them in $work/mutants, so it goes to $work/shared.
  shared=$(cd "$ROOT" && python3 -c 'from tests.policy import policy_dir; print(policy_dir().parent)')
  [[ -d $shared ]] && ln -s "$(realpath "$shared")" "$work/shared"
  python3 - "$work/pyproject.toml" "${FILES[$m]}" "${TESTS[$m]}" <<'PY'
import json, os, re, sys
path, files, tests = sys.argv[1:]
tests = ", ".join(json.dumps(t) for t in tests.split()
                  if t.startswith("-") or os.path.exists(os.path.join(os.path.dirname(path), t)))
text = open(path).read()
text = re.sub(r"only_mutate = \[.*?\]", f"only_mutate = [{files}]", text, flags=re.S)
text = re.sub(r"pytest_add_cli_args_test_selection = \[.*?\]",
              f"pytest_add_cli_args_test_selection = [{tests}]", text, flags=re.S)
open(path, "w").write(text)
PY
  echo "[mutation] $m in $work" >&2
  sample=$SAMPLE
  if [[ -n $SAMPLE ]]; then
    # Generate the mutants and collect which tests reach which function (a run that matches
    # no mutant stops right after), then draw the sample by a fixed seed.
    (cd "$work" && "$MUTMUT" run --max-children "$CHILDREN" "no-such-mutant" >"$work/generate.log" 2>&1) || true
    mapfile -t names < <(python3 - "$work" "$SAMPLE" "$SEED" <<'PY'
import json, random, sys
from pathlib import Path
work, n, seed = sys.argv[1], int(sys.argv[2]), sys.argv[3]
keys = sorted(k for meta in (Path(work) / "mutants").rglob("*.py.meta")
              for k in json.loads(meta.read_text())["exit_code_by_key"])
print("\n".join(sorted(random.Random(seed).sample(keys, min(n, len(keys))))))
PY
)
    ((${#names[@]})) || { echo "[mutation] $m: no mutants generated, see $work/generate.log" >&2; }
    printf '%s\n' "${names[@]}" >"$work/sample.txt"
  fi
  fi
  if [[ (-n $RECHECK || -n $sample) && ${#names[@]} -eq 0 ]]; then
    echo "[mutation] $m: no mutant to run" >&2
  else
    (cd "$work" && "$MUTMUT" run --max-children "$CHILDREN" "${names[@]}" >"$work/mutmut.log" 2>&1) ||
      echo "[mutation] $m: mutmut exited nonzero, see $work/mutmut.log" >&2
  fi
  results+=("$(python3 - "$m" "$work" "${sample:+1}" <<'PY'
import json, sys
from pathlib import Path
m, work, sample = sys.argv[1], sys.argv[2], bool(sys.argv[3])
codes = {}
for meta in (Path(work) / "mutants").rglob("*.py.meta"):
    codes.update(json.loads(meta.read_text())["exit_code_by_key"])
if sample:
    codes = {k: codes.get(k) for k in (Path(work) / "sample.txt").read_text().split()}
# mutmut's exit codes: 1, 3 killed; 0 survived; 5, 33 no tests; 36 and the SIGXCPU/SIGKILL
# codes timeout; None not checked (the run was cut short); anything else suspicious.
status = {1: "killed", 3: "killed", 0: "survived", 5: "no_tests", 33: "no_tests", 36: "timeout", 24: "timeout",
          -24: "timeout", 152: "timeout", 255: "timeout", None: "not_checked", 34: "skipped"}
by = {}
for k, c in codes.items():
    by.setdefault(status.get(c, "suspicious"), []).append(k)
s = {k: len(v) for k, v in by.items()}
s.setdefault("killed", 0); s.setdefault("survived", 0)
survivors = sorted(by.get("survived", []) + by.get("no_tests", []))
# mutmut's own total also counts mutants it skipped or could not classify; the rate is over
# the mutants that ran: killed (a test failed) + timeout (a test hung: caught) + survived +
# no tests (no selected test reaches the mutated function: a survivor too).
killed, timeout = s["killed"], s.get("timeout", 0)
survived = s["survived"] + s.get("no_tests", 0)
total = killed + timeout + survived + s.get("suspicious", 0)  # not checked / skipped: left out
out = {"killed": killed, "survived": survived, "timeout": timeout, "total": total,
       "rate": round((killed + timeout) / total, 3) if total else None,
       "no_tests": s.get("no_tests", 0), "suspicious": s.get("suspicious", 0),
       "not_checked": s.get("not_checked", 0), "survivors": survivors, "dir": work}
if sample:
    out["sampled"] = len(codes)
print(json.dumps({m: out}))
print(f"[mutation] {m}: {killed + timeout}/{total} killed ({out['rate']})", file=sys.stderr)
PY
)")
  [[ -n $KEEP || -n $RECHECK ]] || rm -rf "$work"
done
python3 -c 'import json,sys; out={}; [out.update(json.loads(l)) for l in sys.argv[1:]]; print(json.dumps(out, indent=1, ensure_ascii=False))' "${results[@]}"
