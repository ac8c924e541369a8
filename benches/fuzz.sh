#!/usr/bin/env bash
# Fuzzes the PostgreSQL wire codec: runs each cargo-fuzz target of fuzz/ for SECONDS
# (default 600) from the seed corpus in fuzz/corpus/<target>/, and prints per target
#
#   frontend_message: 123456789 executions in 600 s, 0 crashes
#
# Exits non-zero when a target crashes (a panic, a failed round-trip check, a hang of
# more than 10 s on one input, or a sanitizer report); libFuzzer then leaves the input
# in fuzz/artifacts/<target>/ and the log is printed. Inputs found along the way go to a
# temporary directory: the seeds in the repository stay as they are.
#
#   benches/fuzz.sh [SECONDS]
#
# Environment: TARGETS ("frontend_message startup"), SANITIZER (address; "none" for a
# plain build), CARGO_TARGET_DIR (default $HOME/.cache/mallard/fuzz-target, never the
# main build's). Installs cargo-fuzz from crates.io when it is missing.
#
# Only a stable Rust toolchain is needed: cargo-fuzz passes the nightly-only -Z flags
# that turn on sanitizer coverage, and RUSTC_BOOTSTRAP=1 lets the stable compiler accept
# them. libFuzzer itself is compiled from the libfuzzer-sys crate.
set -euo pipefail

seconds="${1:-600}"
targets="${TARGETS:-frontend_message startup}"
sanitizer="${SANITIZER:-address}"
root="$(cd "$(dirname "$0")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/mallard/fuzz-target}"
export RUSTC_BOOTSTRAP=1

case "$seconds" in '' | *[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;; esac
if ! command -v cargo-fuzz >/dev/null; then
    echo "installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
fi

cd "$root/fuzz"
cargo fuzz build --fuzz-dir . --sanitizer "$sanitizer" >&2

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
status=0
for target in $targets; do
    mkdir -p "$work/$target"
    log="$work/$target.log"
    # -timeout: one input taking 10 s is a hang, and counts as a crash.
    if cargo fuzz run --fuzz-dir . --sanitizer "$sanitizer" "$target" "$work/$target" "corpus/$target" -- \
        -max_total_time="$seconds" -timeout=10 -print_final_stats=1 >"$log" 2>&1; then
        runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
        took="$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -n 1)"
        echo "$target: ${runs:-?} executions in ${took:-?} s, 0 crashes"
    else
        tail -n 60 "$log"
        echo "$target: CRASH (input saved under fuzz/artifacts/$target/)"
        status=1
    fi
done
exit "$status"
