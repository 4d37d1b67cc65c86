#!/usr/bin/env bash
# Runs each cargo-fuzz target of fuzz/ for a set time and prints, per target,
# the executions and crashes; the last line is `fuzz: N passed, N failed`
# (a target passes with 0 crashes, timeouts and out-of-memory included).
#
#   scripts/fuzz.sh [--time SECONDS] [TARGET...]     (default: 60 s, all targets)
#
# The toolchain may be stable: cargo-fuzz needs nightly flags, so this sets
# RUSTC_BOOTSTRAP=1. Installs cargo-fuzz from crates.io when it is missing.
# The corpus lives in fuzz/corpus/<target> (not committed); it is seeded from
# fuzz/seeds/ and, at run time, from the shared upstream tree and golden files
# ($IRONBAN_SHARED, default ../shared). A crash input is kept in
# fuzz/artifacts/<target>/; turn it into a hostile_*.rs regression test.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

time_s=60
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --time) time_s=$2; shift 2 ;;
    --time=*) time_s=${1#--time=}; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) targets+=("$1"); shift ;;
  esac
done
case "$time_s" in ''|*[!0-9]*) echo "fuzz: --time takes whole seconds" >&2; exit 2 ;; esac

export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked

cd fuzz
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo fuzz list)
fi
# -s none: the code under test is safe Rust (plus PCRE2, which the Rust
# sanitizer flags would not instrument anyway); debug assertions stay on.
flags=(-s none -O)
cargo fuzz build "${flags[@]}" >/dev/null 2>fuzz-build.log || {
  cat fuzz-build.log >&2; echo "fuzz: build failed" >&2; exit 1; }
rm -f fuzz-build.log

shared=${IRONBAN_SHARED:-$root/../shared}
if [ -d "$shared/upstream/fail2ban" ] && [ ! -e corpus/.seeded ]; then
  python3 seed.py corpus "$shared/upstream/fail2ban" "$shared/golden" >/dev/null
  touch corpus/.seeded
fi

passed=0
failed=0
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t" "artifacts/$t"
  before=$(find "artifacts/$t" -type f | wc -l)
  log=$(mktemp)
  rc=0
  # -timeout: one input running 10 s is a hang; -rss_limit_mb: memory bound.
  cargo fuzz run "${flags[@]}" "$t" "corpus/$t" -- \
    -max_total_time="$time_s" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -print_final_stats=1 >"$log" 2>&1 || rc=$?
  after=$(find "artifacts/$t" -type f | wc -l)
  crashes=$((after - before))
  if [ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ]; then crashes=1; fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  printf 'fuzz %-13s %6ss  executions %10s  coverage %6s  crashes %d\n' \
    "$t" "$time_s" "${execs:-?}" "${cov:-?}" "$crashes"
  if [ "$crashes" -eq 0 ]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    grep -E 'panicked|ERROR: libFuzzer|SUMMARY|Test unit written' "$log" | head -8 | sed 's/^/    /'
  fi
  rm -f "$log"
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
