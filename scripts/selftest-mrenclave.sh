#!/usr/bin/env bash
# selftest-mrenclave.sh - build the MRENCLAVE proof harness against Linux's
# SGX selftests: tests/selftest/mrenclave_dump.c (sgxemu's code) compiled
# with the selftest's headers and linked with the selftest's own sigstruct.o
# and sign_key.o, so that the SIGSTRUCT it writes is the one test_sgx would
# compute. tests/test_selftest_mrenclave.c runs it and EINITs that SIGSTRUCT
# on the emulated CPU.
#
# Runs scripts/build-selftests.sh first (cached after the first run).
# Output: <root>/harness/mrenclave_dump, where <root> is SGXEMU_SELFTEST_DIR
# (default build/selftests, as for build-selftests.sh). Rebuilt only when the
# source or the selftest objects are newer than the binary.
#
# The test binary finds <root> through SGXEMU_SELFTEST_DIR, else through
# <repo>/build/selftests (located from its own path), else ./build/selftests.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROOT="${SGXEMU_SELFTEST_DIR:-$REPO_ROOT/build/selftests}"
case "$ROOT" in /*) ;; *) ROOT="$PWD/$ROOT" ;; esac
export SGXEMU_SELFTEST_DIR="$ROOT"
: "${CC:=gcc}"

log() { printf 'selftest-mrenclave: %s\n' "$*" >&2; }
die() { printf 'selftest-mrenclave: ERROR: %s\n' "$*" >&2; exit 1; }

"$REPO_ROOT/scripts/build-selftests.sh" >/dev/null || die "scripts/build-selftests.sh failed"

SELFTEST_DIR="$ROOT/src/tools/testing/selftests/sgx"
OUT="$ROOT/sgx"
SRC_FILE="$REPO_ROOT/tests/selftest/mrenclave_dump.c"
BIN_DIR="$ROOT/harness"
BIN="$BIN_DIR/mrenclave_dump"
OBJS=("$OUT/sigstruct.o" "$OUT/sign_key.o")

for f in "$SELFTEST_DIR/main.h" "$SELFTEST_DIR/defines.h" "${OBJS[@]}" "$OUT/test_encl.elf"; do
	[ -s "$f" ] || die "$f is missing after build-selftests.sh"
done

up_to_date() {
	[ -x "$BIN" ] || return 1
	for f in "$SRC_FILE" "${OBJS[@]}" "${BASH_SOURCE[0]}"; do
		[ "$BIN" -nt "$f" ] || return 1
	done
}

if ! up_to_date; then
	mkdir -p "$BIN_DIR"
	log "building $BIN"
	# Build to a temporary name and rename: a concurrent reader never sees a
	# half-written binary.
	"$CC" -std=gnu11 -O1 -g -Wall -Wextra -Werror -Wno-unused-parameter \
		-I"$SELFTEST_DIR" -I"$ROOT/src/tools/include" \
		-z noexecstack -o "$BIN.tmp.$$" "$SRC_FILE" "${OBJS[@]}" -lcrypto ||
		{ rm -f "$BIN.tmp.$$"; die "compiling $SRC_FILE failed"; }
	mv -f "$BIN.tmp.$$" "$BIN"
fi

# Smoke check: the harness must produce a full SIGSTRUCT.
TMP="$(mktemp -d "${TMPDIR:-/tmp}/selftest-mrenclave.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
"$BIN" "$OUT/test_encl.elf" 4096 "$TMP" || die "$BIN failed on $OUT/test_encl.elf"
[ "$(stat -c %s "$TMP/sigstruct.bin")" = 1808 ] || die "SIGSTRUCT is not 1808 bytes"
echo "MRENCLAVE harness: $BIN (selftest dir $ROOT)"
