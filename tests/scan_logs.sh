#!/usr/bin/env bash
# Scans the server logs a test run kept (MALLARD_TEST_LOG_DIR) for secrets: the
# passwords tests/auth.rs logs in with (read from its constants, so the list has one
# home) and SCRAM verifiers. Exit 1 if any log shows one.
set -euo pipefail
dir=${1:?usage: scan_logs.sh LOG_DIR}
here=$(dirname "$0")
mapfile -t secrets < <(sed -nE 's/^const [A-Z_]*(PASSWORD|WRONG)[A-Z_]*: &str = "(.*)";$/\2/p' "$here/auth.rs")
secrets+=('SCRAM-SHA-256$')
[ "${#secrets[@]}" -ge 3 ] || { echo "scan_logs: found no passwords in $here/auth.rs" >&2; exit 1; }
shopt -s nullglob
logs=("$dir"/*.log)
[ "${#logs[@]}" -gt 0 ] || { echo "scan_logs: no logs in $dir" >&2; exit 1; }
found=0
for s in "${secrets[@]}"; do
  if grep -lF -- "$s" "${logs[@]}"; then
    echo "scan_logs: a secret (${#s} characters) appears in the logs above" >&2
    found=1
  fi
done
echo "scan_logs: ${#logs[@]} server logs, ${#secrets[@]} secrets, $([ $found = 0 ] && echo none found || echo FOUND)"
exit "$found"
