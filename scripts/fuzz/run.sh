#!/usr/bin/env bash
# Builds the libFuzzer targets (AddressSanitizer + SanitizerCoverage, in .build-fuzz/) and runs
# each for SECONDS, starting from its committed seeds in Tests/Fixtures/fuzz/<target>/ (new
# corpus entries go to .build-fuzz/corpus/<target>/, crashes to .build-fuzz/crashes/).
# Prints executions per target; exits non-zero when any target crashed, leaked, hung (> 1 s on
# one input) or went past 2 GB of RSS.
#   scripts/fuzz/run.sh SECONDS [TARGET ...]      (default: every target)
# FUZZ_SEED=N fixes libFuzzer's seed (make fuzz-smoke uses 1, so CI explores the same inputs each
# run); unset, each run explores anew. FUZZ_RUNS=N stops a target after N executions (whichever
# comes first with SECONDS): `make fuzz` uses 1,000,000 runs or 600 s per target.
set -uo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:?usage: run.sh SECONDS [TARGET ...]}; shift
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(safetensors shard-index config adapter tokenizer encode task template json response experiment store quant-state)
fi
flags=(--scratch-path .build-fuzz -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING
       -Xswiftc -Xclang-linker -Xswiftc -fuse-ld=lld)
for t in "${targets[@]}"; do
  # lld: gold fails on the instrumented objects; libFuzzer's main is not linked (the target's
  # own entry point hands over through LLVMFuzzerRunDriver).
  swift build "${flags[@]}" --product "fuzz-$t" 2>&1 | grep -vE "Cannot export local symbol|^\[" || true
  [ -x ".build-fuzz/debug/fuzz-$t" ] || { echo "fuzz-$t did not build"; exit 1; }
done
dict_for() {
  case "$1" in
    safetensors|shard-index|config|adapter|tokenizer|json|response|quant-state) echo "-dict=scripts/fuzz/json.dict" ;;
    task|experiment) echo "-dict=scripts/fuzz/yaml.dict" ;;
    *) echo "" ;;
  esac
}
failed=0
printf '%-12s %12s %8s  %s\n' target executions seconds result
for t in "${targets[@]}"; do
  mkdir -p ".build-fuzz/corpus/$t" .build-fuzz/crashes
  log=".build-fuzz/fuzz-$t.log"
  started=$(date +%s)
  # detect_leaks=0: the Swift runtime keeps metadata caches for the life of the process, which
  # LeakSanitizer reports per input; leaks are checked by the sanitizer test run instead.
  SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=0 TMPDIR=$(mktemp -d) ".build-fuzz/debug/fuzz-$t" $(dict_for "$t") \
    ${FUZZ_SEED:+-seed=$FUZZ_SEED} ${FUZZ_RUNS:+-runs=$FUZZ_RUNS} -max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=1 -print_final_stats=1 \
    -artifact_prefix=".build-fuzz/crashes/$t-" ".build-fuzz/corpus/$t" "Tests/Fixtures/fuzz/$t" >"$log" 2>&1
  status=$?
  elapsed=$(( $(date +%s) - started ))
  runs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}')
  result=ok
  if [ $status -ne 0 ]; then result="FAILED (exit $status; see $log and .build-fuzz/crashes/)"; failed=1; fi
  printf '%-12s %12s %8s  %s\n' "$t" "${runs:-?}" "$elapsed" "$result"
done
exit $failed
