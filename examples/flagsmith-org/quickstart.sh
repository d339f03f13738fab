#!/usr/bin/env bash
# The Flagsmith example end to end, with nothing else to set up: start the Flagsmith sandbox,
# plan and apply the example organisation, accept the invites it sent and apply again (the
# deferred grants complete), show that the next plan is empty, make a change outside git and
# report it as drift, repair it, then export the organisation and plan the export (empty).
#
# Usage: bash examples/flagsmith-org/quickstart.sh   (after `python3 -m venv .venv && .venv/bin/pip install -e '.[dev]'`)
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=.venv/bin
spec=examples/flagsmith-org
work=$(mktemp -d)
export RECONCILER_STATE="$work/state.db"   # a fresh sandbox gets fresh state
export ADO_PAT=ado-quickstart GITLAB_TOKEN=glpat-quickstart DD_API_KEY=dd-quickstart

"$bin/reconciler" sandbox --only flagsmith --port 0 --data "$work/sandbox" >"$work/sandbox.out" 2>"$work/sandbox.err" &
sandbox_pid=$!
stop() { kill "$sandbox_pid" 2>/dev/null || true; wait "$sandbox_pid" 2>/dev/null || true; }
trap stop EXIT

for _ in $(seq 100); do
  grep -q '^Ctrl-C to stop' "$work/sandbox.err" 2>/dev/null && break
  kill -0 "$sandbox_pid" 2>/dev/null || { cat "$work/sandbox.err" >&2; exit 1; }
  sleep 0.1
done
# shellcheck disable=SC1090
source <(grep '^export ' "$work/sandbox.out")
control="${FLAGSMITH_URL%/api/v1}/_sandbox"
echo "== sandbox up at $FLAGSMITH_URL"

step() { echo; echo "== $*"; }
expect() {  # expect CODE command...: run, show output, check the exit code
  local want=$1; shift
  set +e; "$@"; local got=$?; set -e
  if [ "$got" != "$want" ]; then echo "expected exit $want, got $got: $*" >&2; exit 1; fi
}
post() { curl -sf -X POST -H 'Content-Type: application/json' -d "$2" "$control/$1" >/dev/null; }

step "validate (no network)"
expect 0 "$bin/reconciler" validate "$spec"
step "plan (exit 2: changes; the invitees' grants are deferred)"
expect 2 "$bin/reconciler" plan "$spec" --detailed-exitcode --stats
step "apply"
expect 0 "$bin/reconciler" apply "$spec" --auto-approve
step "alice and bob accept their invites; apply completes what was deferred"
post invites/accept/ '{"email": "alice@acme.io"}'
post invites/accept/ '{"email": "bob@acme.io"}'
expect 0 "$bin/reconciler" apply "$spec" --auto-approve
step "plan again (exit 0: converged)"
expect 0 "$bin/reconciler" plan "$spec" --detailed-exitcode --stats
step "a change outside git: GitLab labeling switched off in the dashboard"
post changes/ '{"changes": [{"op": "set_integration", "project": "web", "kind": "gitlab", "fields": {"labeling_enabled": false}}]}'
expect 2 "$bin/reconciler" drift "$spec"
step "apply restores the spec; drift is gone"
expect 0 "$bin/reconciler" apply "$spec" --auto-approve
expect 0 "$bin/reconciler" drift "$spec"
step "export the organisation (secrets as \${env:...} references) and plan it: no changes"
expect 0 "$bin/reconciler" export --provider flagsmith "$work/exported/flagsmith.yaml"
grep -m1 "secrets are read from" "$work/exported/flagsmith.yaml"
export FLAGSMITH_WEB_AZURE_DEVOPS_PERSONAL_ACCESS_TOKEN=$ADO_PAT
export FLAGSMITH_WEB_GITLAB_ACCESS_TOKEN=$GITLAB_TOKEN FLAGSMITH_WEB_DATADOG_API_KEY=$DD_API_KEY
expect 0 "$bin/reconciler" plan "$work/exported" --detailed-exitcode

echo
echo "== done; stopping the sandbox"
