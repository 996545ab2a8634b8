#!/usr/bin/env bash
# One command that installs, builds and runs the whole test suite:
#   (a) the release build, with the active instruction set and with each one forced
#       (RV_SIMD=scalar, sse2, avx2, and avx512 where this CPU has it);
#   (b) an AddressSanitizer + UndefinedBehaviorSanitizer build;
#   (c) the libFuzzer targets (JPEG decoding, family loader, line messages), briefly,
#       when clang is present;
#   (d) the NEON kernels' equivalence tests under qemu-aarch64, when the cross tools are present.
# Warnings are errors when CI=true. Build directories: build/, build-asan/, build-fuzz/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --test

JOBS=$(nproc)
WERROR=OFF
if [ "${CI:-}" = "true" ]; then WERROR=ON; fi
fail=0

step() { echo; echo "=== $* ==="; }

step "release build"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DRS_WERROR=$WERROR >/dev/null
cmake --build build -j"$JOBS"

step "tests (release, instruction set: auto)"
(cd build && ctest --output-on-failure -j"$JOBS") || fail=1

best=$(./build/bin/reman-inspect --simd-best 2>/dev/null || echo avx2)
for isa in scalar sse2 avx2 avx512; do
  case "$best:$isa" in
    sse2:avx2|sse2:avx512|avx2:avx512) echo "tests with RV_SIMD=$isa: skipped, this CPU lacks $isa"; continue;;
  esac
  step "tests (release, RV_SIMD=$isa)"
  # the site collector's end-to-end test (PostgreSQL, ten stations) runs no vision kernel,
  # and the GTK station's (a real window under Xvfb) runs the same cell the other
  # end-to-end tests run under every instruction set: once in the auto pass and once under
  # the sanitizers is enough
  (cd build && RV_SIMD=$isa ctest --output-on-failure -j"$JOBS" -LE '^(site|station)$') || fail=1
done

step "AddressSanitizer + UndefinedBehaviorSanitizer build"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DRS_SANITIZE=ON -DRS_WERROR=$WERROR >/dev/null
cmake --build build-asan -j"$JOBS"
step "tests (ASan + UBSan)"
# (the site test with 500 decisions per station here: this pass looks for memory errors,
#  the release pass carries the volume)
(cd build-asan && RS_SITE_PER_STATION=500 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
   LSAN_OPTIONS=suppressions=$PWD/../tests/lsan.supp:print_suppressions=0 \
   UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
   ctest --output-on-failure -j"$JOBS") || fail=1

if command -v clang >/dev/null && command -v clang++ >/dev/null; then
  step "libFuzzer: JPEG decode 60 s, family model loader 30 s, line messages 30 s, learnt models 20 s, network importer 20 s"
  cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DRS_FUZZ=ON -DRS_BUILD_TESTS=ON \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ >/dev/null
  cmake --build build-fuzz -j"$JOBS" --target fuzz_jpeg fuzz_family fuzz_msg fuzz_models fuzz_backbone
  corpus=$(mktemp -d)
  cp assets/cores/*.jpg "$corpus"/ 2>/dev/null || true
  (ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp \
     ./build-fuzz/fuzz/fuzz_jpeg -max_total_time=60 -rss_limit_mb=4096 -print_final_stats=1 \
     "$corpus" 2>&1 | tail -n 12) || fail=1
  rm -rf "$corpus"
  corpus=$(mktemp -d)
  cp models/families/*.json "$corpus"/
  (ASAN_OPTIONS=detect_leaks=1 ./build-fuzz/fuzz/fuzz_family -max_total_time=30 \
     -rss_limit_mb=4096 -print_final_stats=1 "$corpus" 2>&1 | tail -n 8) || fail=1
  rm -rf "$corpus"
  # seeds: the example messages of docs/protocol.md, one per file
  corpus=$(mktemp -d)
  grep '^{"' docs/protocol.md | split -l 1 - "$corpus/msg-"
  (ASAN_OPTIONS=detect_leaks=1 ./build-fuzz/fuzz/fuzz_msg -max_total_time=30 \
     -rss_limit_mb=4096 -print_final_stats=1 "$corpus" 2>&1 | tail -n 8) || fail=1
  rm -rf "$corpus"
  # seeds: a round-part model and a surface model as the tests write them (the first byte
  # picks the loader: 0 the packed rings model, 1 the surface model file)
  corpus=$(mktemp -d)
  RS_FUZZ_SEEDS=$corpus ./build/tests/test_vision_polar >/dev/null 2>&1 || true
  RS_FUZZ_SEEDS=$corpus ./build/tests/test_vision_surface >/dev/null 2>&1 || true
  (ASAN_OPTIONS=detect_leaks=1 ./build-fuzz/fuzz/fuzz_models -max_total_time=20 \
     -rss_limit_mb=4096 -print_final_stats=1 "$corpus" 2>&1 | tail -n 8) || fail=1
  rm -rf "$corpus"
  corpus=$(mktemp -d)
  cp tests/fuzz/seeds/backbone-*.json "$corpus"/
  (ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp \
     ./build-fuzz/fuzz/fuzz_backbone -max_total_time=20 -rss_limit_mb=4096 \
     -print_final_stats=1 "$corpus" 2>&1 | tail -n 8) || fail=1
  rm -rf "$corpus" /dev/shm/rs-fuzz-backbone-* /tmp/rs-fuzz-backbone-*
else
  echo "libFuzzer: skipped, clang is not installed"
fi

step "NEON kernels under qemu-aarch64"
bash scripts/neon-check.sh || fail=1

echo
if [ $fail -ne 0 ]; then echo "test.sh: FAILED"; exit 1; fi
echo "test.sh: all passed"
