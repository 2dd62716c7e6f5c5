#!/usr/bin/env bash
# Runs one bwemu command for the GitHub Action (action.yml) and asks it for
# the reports it can write, in $BWEMU_REPORTS. bwemu's exit code is the
# step's, and the step output exit-code.
#
#   BWEMU_COMMAND  run, conform, load, stream or validate
#   BWEMU_ARGS     its arguments (split as the shell splits words)
#   BWEMU_REPORTS  the report directory (created)
#   BWEMU          the bwemu binary (default: bwemu on the PATH)
set -uo pipefail

bwemu="${BWEMU:-bwemu}"
dir="${BWEMU_REPORTS:-bwemu-reports}"
mkdir -p "$dir"

case "${BWEMU_COMMAND:-}" in
  run|conform)
    reports=(--junit "$dir/junit.xml" --json "$dir/report.json" --html "$dir/report.html") ;;
  load)
    reports=(--junit "$dir/junit.xml" --json "$dir/summary.json" --html "$dir/report.html") ;;
  stream)
    reports=(--json "$dir/stream.json" --journal "$dir/journal.jsonl") ;;
  validate)
    reports=() ;;
  *)
    echo "bwemu action: command must be one of run, conform, load, stream, validate; got '${BWEMU_COMMAND:-}'" >&2
    exit 2 ;;
esac

# Word splitting of the arguments is wanted: they are a command line.
# shellcheck disable=SC2206
args=(${BWEMU_ARGS:-})

"$bwemu" "$BWEMU_COMMAND" "${args[@]}" "${reports[@]}"
code=$?
if [ -n "${GITHUB_OUTPUT:-}" ]; then
  echo "exit-code=$code" >> "$GITHUB_OUTPUT"
fi
exit "$code"
