#!/bin/sh
# neon-check.sh - build the vision kernels for aarch64 and run the SIMD equivalence tests
# under user-mode QEMU, so the NEON kernels are checked on an x86 machine.
#
# Cross-compiles statically (aarch64-linux-gnu-gcc): the error, image and dispatch code,
# every scalar and NEON kernel file, rv_point.c and rv_filter.c when present, and each
# tests/vision/test_*equiv*.c; runs each under qemu-aarch64 with RV_SIMD unset (so the
# dispatcher picks neon). Exits non-zero when a build or a test fails; prints a notice and
# exits 0 when the cross tools are absent (apt: gcc-aarch64-linux-gnu qemu-user).
#
# Usage: scripts/neon-check.sh
#   RS_NEON_EXTRA_SRC="a.c b.c"  extra C sources to link (e.g. a stub while a NEON file
#                                is still being written)
#   RS_NEON_KEEP=1               keep the build directory (printed at the end)
set -eu

CC=${RS_NEON_CC:-aarch64-linux-gnu-gcc}
QEMU=${RS_NEON_QEMU:-qemu-aarch64}
if ! command -v "$CC" >/dev/null 2>&1 || ! command -v "$QEMU" >/dev/null 2>&1; then
    echo "neon-check: $CC or $QEMU not found; NEON kernels not checked (skipped)"
    exit 0
fi

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$(mktemp -d "${TMPDIR:-/tmp}/rs-neon.XXXXXX")
if [ "${RS_NEON_KEEP:-0}" != 1 ]; then
    trap 'rm -rf "$OUT"' EXIT
fi

# The same warnings as the CMake build, as errors; C17 with the glibc extras.
CFLAGS="-std=c17 -D_DEFAULT_SOURCE -O2 -Wall -Wextra -Wshadow -Wformat=2 -Wno-unused-parameter
        -Wstrict-prototypes -Werror -ffp-contract=off -pthread
        -I$ROOT/vision/include -I$ROOT/vision/src -I$ROOT/vision/src/simd -I$ROOT/tests/harness"

# Library sources: globbed, since kernel files for new instruction sets or kernel families
# appear while others work on them.
SRCS="$ROOT/vision/src/rv_error.c $ROOT/vision/src/rv_image.c $ROOT/vision/src/simd/rv_simd.c"
for f in "$ROOT"/vision/src/simd/*_scalar.c "$ROOT"/vision/src/simd/*_neon.c \
         "$ROOT"/vision/src/rv_point.c "$ROOT"/vision/src/rv_filter.c; do
    [ -f "$f" ] && SRCS="$SRCS $f"
done
SRCS="$SRCS ${RS_NEON_EXTRA_SRC:-}"

# Other builds share this machine: serialise compiler runs on the project's build lock.
locked() {
    if command -v flock >/dev/null 2>&1; then
        flock /tmp/rs-build.lock "$@"
    else
        "$@"
    fi
}

OBJS=""
for f in $SRCS; do
    o="$OUT/$(basename "$f" .c).o"
    # shellcheck disable=SC2086 # CFLAGS is a list of words
    if ! locked "$CC" $CFLAGS -c "$f" -o "$o"; then
        echo "neon-check: FAILED to compile $f"
        exit 1
    fi
    OBJS="$OBJS $o"
done

status=0
ran=0
for t in "$ROOT"/tests/vision/test_*equiv*.c; do
    [ -f "$t" ] || continue
    name=$(basename "$t" .c)
    # shellcheck disable=SC2086
    if ! locked "$CC" $CFLAGS -static "$t" $OBJS -o "$OUT/$name" -lm; then
        echo "neon-check: FAILED to build $name (a missing rv__*_fill_neon means a NEON kernel"
        echo "            file is not there yet; see RS_NEON_EXTRA_SRC)"
        status=1
        continue
    fi
    ran=$((ran + 1))
    if (cd "$ROOT" && env -u RV_SIMD "$QEMU" "$OUT/$name"); then
        echo "neon-check: $name passed under $QEMU"
    else
        echo "neon-check: $name FAILED under $QEMU"
        status=1
    fi
done

if [ "$ran" = 0 ] && [ "$status" = 0 ]; then
    echo "neon-check: no tests/vision/test_*equiv*.c found"
    status=1
fi
[ "${RS_NEON_KEEP:-0}" = 1 ] && echo "neon-check: build kept in $OUT"
exit $status
