#!/usr/bin/env bash
# Runs the cargo-fuzz targets under fuzz/ for a bounded time each and fails if any crashed.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     (default: 60 seconds, every target)
#
# Needs a nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz --locked`).
# Environment:
#   CARGO_TARGET_DIR  build directory for the instrumented build (default /work/fuzz-target,
#                     kept apart from the main crate's target/ because every flag differs)
#   FUZZ_SANITIZER    address (default) or none, leak, ...: passed to `cargo fuzz --sanitizer`
#   FUZZ_NICE         niceness of the build and the fuzzers (default 10; 0 for none)
#   FUZZ_TOOLCHAIN    toolchain for cargo-fuzz (default nightly)
#
# Before each run the committed seeds (fuzz/seeds/<target>/) and crash reproducers
# (fuzz/regressions/<target>/) are copied into the working corpus fuzz/corpus/<target>/,
# which libFuzzer then grows (it is git-ignored, as are fuzz/artifacts/ and fuzz/logs/).
# A crash leaves its input in fuzz/artifacts/<target>/; reproduce it with
#   cargo +nightly fuzz run <target> fuzz/artifacts/<target>/<crash-file>
# Exit status: 0 no crash, 1 a target crashed (or timed out / ran out of memory), 2 other failure.
set -uo pipefail

cd "$(dirname "$0")/.."
root=$(pwd)

seconds=${1:-60}
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -eq 0 ]; then
    echo "usage: scripts/fuzz.sh [SECONDS] [TARGET...]" >&2
    exit 2
fi
shift $(($# > 0 ? 1 : 0))
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(protocol_decode kb_parse webhook_verify)
fi

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/work/fuzz-target}
sanitizer=${FUZZ_SANITIZER:-address}
toolchain=${FUZZ_TOOLCHAIN:-nightly}
nice_cmd=()
if [ "${FUZZ_NICE:-10}" != 0 ]; then
    nice_cmd=(nice -n "${FUZZ_NICE:-10}")
fi

if ! cargo "+$toolchain" fuzz --version >/dev/null 2>&1; then
    echo "fuzz.sh: cargo-fuzz or the $toolchain toolchain is missing (cargo install cargo-fuzz --locked)" >&2
    exit 2
fi

mkdir -p fuzz/logs
status=0
summary=()
for t in "${targets[@]}"; do
    if [ ! -f "fuzz/fuzz_targets/$t.rs" ]; then
        echo "fuzz.sh: no fuzz target $t" >&2
        exit 2
    fi
    corpus="fuzz/corpus/$t"
    artifacts="fuzz/artifacts/$t"
    log="fuzz/logs/$t.log"
    mkdir -p "$corpus" "$artifacts"
    for d in "fuzz/seeds/$t" "fuzz/regressions/$t"; do
        if [ -d "$d" ]; then
            cp -n "$d"/* "$corpus"/ 2>/dev/null || true
        fi
    done
    dict=()
    if [ -f "fuzz/dicts/$t.dict" ]; then
        dict=("-dict=$root/fuzz/dicts/$t.dict")
    fi
    before=$(find "$artifacts" -type f | sort)

    echo "== fuzzing $t for ${seconds}s (sanitizer $sanitizer, corpus $corpus, log $log)"
    # cargo-fuzz builds in release mode with debug assertions and overflow checks on.
    "${nice_cmd[@]}" cargo "+$toolchain" fuzz run \
        --sanitizer "$sanitizer" --target-dir "$CARGO_TARGET_DIR" \
        "$t" "$corpus" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        "${dict[@]}" 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}

    after=$(find "$artifacts" -type f | sort)
    new=$(comm -13 <(echo "$before") <(echo "$after") | sed '/^$/d')
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    files=$(find "$corpus" -type f | wc -l)
    if [ -n "$new" ]; then
        echo "fuzz.sh: $t FOUND A CRASH; inputs:" >&2
        echo "$new" | sed 's/^/  /' >&2
        summary+=("$t: CRASH (${execs:-?} executions, ${rate:-?}/s): $(echo "$new" | tr '\n' ' ')")
        status=1
    elif [ "$rc" -ne 0 ]; then
        echo "fuzz.sh: $t failed with status $rc and left no crash input (build error?); see $log" >&2
        summary+=("$t: FAILED (status $rc, see $log)")
        [ "$status" -eq 0 ] && status=2
    else
        summary+=("$t: ok, ${execs:-?} executions, ${rate:-?} exec/s, corpus $files files")
    fi
done

echo "== fuzz summary (${seconds}s per target)"
printf '  %s\n' "${summary[@]}"
exit "$status"
