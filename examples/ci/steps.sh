#!/usr/bin/env bash
# The shell steps of the CI recipes (reconciler.yml for GitHub Actions, gitlab-ci.yml for
# GitLab): both call this script, and tests/cli/test_ci_recipe.py runs exactly it against the
# sandbox. Copy it next to the workflow (the recipes expect .github/reconciler/steps.sh, or
# ci/reconciler-steps.sh on GitLab).
#
#   steps.sh validate        check the spec: no network, no credentials (fork pull requests)
#   steps.sh pr              plan for review: $OUT/plan.json (the plan to apply on merge) and
#                            $OUT/plan.md (the comment). A refused plan or an error still writes
#                            the comment, with the reason, then exits 1.
#   steps.sh merge PLAN      apply exactly the reviewed plan PLAN (apply --plan). A stale plan
#                            (live changed since the review) or a changed spec is refused:
#                            nothing changes, the job summary shows why and the new diff, exit 1.
#                            After an apply, the next plan must be empty.
#   steps.sh drift           drift report: $OUT/drift.html, markdown in the job summary;
#                            exit 0 none, 2 drift, 1 error.
#
# Settings (environment): SPEC (spec path, default org), OUT (output directory, default .),
# SUMMARY (job summary file, default $GITHUB_STEP_SUMMARY, else $OUT/summary.md), RECONCILER
# (the command, default reconciler). The connection variables (PHASE_URL, PHASE_TOKEN, …),
# RECONCILER_STATE (a postgresql:// URL shared by every runner) and the keys come from the CI
# secrets; see the recipes.
set -euo pipefail

SPEC=${SPEC:-org}
OUT=${OUT:-.}
RECONCILER=${RECONCILER:-reconciler}
SUMMARY=${SUMMARY:-${GITHUB_STEP_SUMMARY:-$OUT/summary.md}}
mkdir -p "$OUT"

# Run reconciler; stdout to $1, stderr to $2 (and echoed to the job log); sets $code.
run() {
    local stdout=$1 stderr=$2
    shift 2
    set +e
    $RECONCILER "$@" >"$stdout" 2>"$stderr"
    code=$?
    set -e
    cat "$stderr" >&2
}

fence() {  # a file as a fenced block (errors and reports are plain text)
    echo '```'
    cat "$1"
    echo '```'
}

cmd_validate() {
    $RECONCILER validate "$SPEC"
}

cmd_pr() {
    # 0 = no changes, 2 = changes: the plan is for review. 1 = error or refused plan.
    run "$OUT/plan.md" "$OUT/plan.err" \
        plan "$SPEC" --format markdown --out "$OUT/plan.json" --stats --detailed-exitcode
    if [ "$code" = 0 ] || [ "$code" = 2 ]; then
        return 0
    fi
    # The comment must say why: the plan document (a refused plan lists its violations) and the
    # error lines (a spec error is `file:line:col: message`; messages never hold secrets).
    {
        if [ -s "$OUT/plan.md" ]; then cat "$OUT/plan.md"; else echo "## reconciler plan"; fi
        echo
        echo "**This plan cannot be applied** (reconciler exited $code):"
        echo
        fence "$OUT/plan.err"
    } >"$OUT/comment.md"
    mv "$OUT/comment.md" "$OUT/plan.md"
    return 1
}

cmd_merge() {
    local reviewed=${1:?usage: steps.sh merge PLAN_FILE}
    if [ ! -f "$reviewed" ]; then
        {
            echo "## reconciler: nothing applied"
            echo "No reviewed plan ($reviewed): changes are applied only from a plan saved by"
            echo "the pull request's plan job."
        } >>"$SUMMARY"
        echo "steps.sh: no reviewed plan at $reviewed" >&2
        return 1
    fi
    run "$OUT/apply.txt" "$OUT/apply.err" apply --plan "$reviewed"
    cat "$OUT/apply.txt"
    if [ "$code" != 0 ]; then
        {
            echo "## reconciler: the reviewed plan was not applied"
            echo
            fence "$OUT/apply.err"
            echo
            echo "### What a plan would do now (review it in a new pull request)"
            echo
        } >>"$SUMMARY"
        run "$OUT/replan.md" "$OUT/replan.err" plan "$SPEC" --format markdown
        if [ -s "$OUT/replan.md" ]; then cat "$OUT/replan.md"; else fence "$OUT/replan.err"; fi \
            >>"$SUMMARY"
        return 1
    fi
    {
        echo "## reconciler: the reviewed plan was applied"
        echo
        fence "$OUT/apply.txt"
    } >>"$SUMMARY"
    # Converged: planning again finds nothing to do.
    run "$OUT/after.txt" "$OUT/after.err" plan "$SPEC" --detailed-exitcode
    if [ "$code" != 0 ]; then
        {
            echo "### Not converged: planning again still finds changes (exit $code)"
            fence "$OUT/after.txt"
        } >>"$SUMMARY"
        return 1
    fi
}

cmd_drift() {
    run "$OUT/drift.log" "$OUT/drift.err" drift "$SPEC" --format html --out "$OUT/drift.html"
    local drift_code=$code
    run "$OUT/drift.md" "$OUT/drift.md.err" drift "$SPEC" --format markdown
    if [ -s "$OUT/drift.md" ]; then cat "$OUT/drift.md"; else fence "$OUT/drift.err"; fi \
        >>"$SUMMARY"
    return "$drift_code"  # 0 none, 2 drift (the job fails so someone looks), 1 error
}

case "${1:-}" in
    validate) cmd_validate ;;
    pr) cmd_pr ;;
    merge) shift; cmd_merge "$@" ;;
    drift) cmd_drift ;;
    *)
        echo "usage: steps.sh validate | pr | merge PLAN_FILE | drift" >&2
        exit 1
        ;;
esac
