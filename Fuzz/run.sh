#!/usr/bin/env bash
# Fuzz/run.sh BIN_DIR WORK SECONDS TARGET…: runs each libFuzzer target for SECONDS on WORK/corpus/T (grown from
# WORK/seeds/T), one after the other, and prints executions and crashes per target. Exits 1 when any crashed.
set -uo pipefail
bin=${1:?usage: run.sh BIN_DIR WORK SECONDS TARGET…}; work=$2; seconds=$3; shift 3
declare -A seed_dir=([NPY]=npy [NPZ]=npz [HDF5]=hdf5 [ONNX]=onnx [Bundle]=bundle [IRText]=irtext)
failed=0
summary=()
for t in "$@"; do
  s=${seed_dir[$t]:?unknown fuzz target $t}
  corpus="$work/corpus/$s" artifacts="$work/artifacts/$s"
  mkdir -p "$corpus" "$artifacts"
  log="$work/fuzz-$s.log"
  echo "fuzz: Fuzz$t for ${seconds} s (log $log)"
  # Leak reports are off (the two seen were inside libhdf5 and Foundation, not MoeKit), and a huge allocation returns
  # NULL as malloc does without ASan (libhdf5 handles that as an error on malformed files).
  ASAN_OPTIONS="detect_leaks=0:allocator_may_return_null=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}" "$bin/Fuzz$t" -max_total_time="$seconds" -seed="${FUZZ_SEED:-1}" -detect_leaks=0 -timeout=20 -rss_limit_mb=4096 -max_len=65536 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" "$corpus" "$work/seeds/$s" >"$log" 2>&1
  rc=$?
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  crashes=$(ls "$artifacts" | grep -c -E '^(crash|leak|timeout|oom)-' || true)
  summary+=("$(printf '%-7s %12s executions in %s s, %s crash(es), corpus %s files' "$t" "${execs:-?}" "$seconds" "$crashes" "$(ls "$corpus" | wc -l)")")
  if [ $rc -ne 0 ] || [ "$crashes" -ne 0 ] || [ -z "$execs" ]; then
    failed=1
    echo "fuzz: Fuzz$t FAILED (exit $rc); artifacts in $artifacts; log tail:"; tail -n 30 "$log"
  fi
done
printf 'fuzz: %s\n' "${summary[@]}"
exit $failed
