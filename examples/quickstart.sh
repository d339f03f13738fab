#!/usr/bin/env bash
# The main job, end to end, with nothing else to set up: start the embedded sandboxes (every
# system's, one process; the example uses Phase's), plan
# and apply the example organisation, show that the next plan is empty, check an end-to-end
# encrypted grant with the grantee's own key, make a change outside
# git and report it as drift (text and a self-contained HTML file), then stop the sandbox.
#
# Usage: bash examples/quickstart.sh   (after `python3 -m venv .venv && .venv/bin/pip install -e '.[dev]'`)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.venv/bin
spec=examples/phase-org
work=$(mktemp -d)
export RECONCILER_STATE="$work/state.db"   # a fresh sandbox gets fresh state

"$bin/reconciler" sandbox --port 0 --data "$work/sandbox" >"$work/sandbox.out" 2>"$work/sandbox.err" &
sandbox_pid=$!
stop() { kill "$sandbox_pid" 2>/dev/null || true; wait "$sandbox_pid" 2>/dev/null || true; }
trap stop EXIT

for _ in $(seq 100); do
  grep -q '^Ctrl-C to stop' "$work/sandbox.err" 2>/dev/null && break   # every system is up
  kill -0 "$sandbox_pid" 2>/dev/null || { cat "$work/sandbox.err" >&2; exit 1; }
  sleep 0.1
done
# shellcheck disable=SC1090
source <(grep '^export ' "$work/sandbox.out")
echo "== sandbox up at $PHASE_URL"

step() { echo; echo "== $*"; }
expect() {  # expect CODE command...: run, show output, check the exit code
  local want=$1; shift
  set +e; "$@"; local got=$?; set -e
  if [ "$got" != "$want" ]; then echo "expected exit $want, got $got: $*" >&2; exit 1; fi
}

step "validate (no network)"
expect 0 "$bin/reconciler" validate "$spec"
step "plan on a fresh organisation (exit 2: changes)"
expect 2 "$bin/reconciler" plan "$spec" --detailed-exitcode --stats
step "apply"
expect 0 "$bin/reconciler" apply "$spec" --auto-approve
step "plan again (exit 0: converged)"
expect 0 "$bin/reconciler" plan "$spec" --detailed-exitcode --stats
step "the end-to-end encrypted grant, checked from the grantee's side"
expect 0 "$bin/python" examples/grantee_decrypts.py dana@acme.test vault Development

step "a change outside git: edit an app description by hand"
"$bin/python" examples/out_of_band.py payments
step "drift report (exit 2: drift)"
expect 2 "$bin/reconciler" drift "$spec"
expect 2 "$bin/reconciler" drift "$spec" --format html --out "$work/drift.html"
step "apply restores the spec; drift is gone"
expect 0 "$bin/reconciler" apply "$spec" --auto-approve
expect 0 "$bin/reconciler" drift "$spec"

echo
echo "== done: the drift report is in $work/drift.html; stopping the sandbox"
