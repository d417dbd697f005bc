#!/usr/bin/env bash
# build-selftests.sh - fetch and build the Linux kernel's own SGX selftests
# (tools/testing/selftests/sgx: test_sgx + test_encl.elf) from Debian's
# linux-source-6.1 package.
#
# The selftest sources are GPL-2.0 kernel code: they are downloaded and built
# here at test time and must never be committed to this repository.
#
# Layout (root overridable with SGXEMU_SELFTEST_DIR, default build/selftests):
#   <root>/cache/   linux-source-6.1_*.deb (kept, so re-extraction is offline)
#   <root>/src/     the few kernel source files the selftest build needs
#   <root>/sgx/     build output: test_sgx, test_encl.elf (+ objects, tests.txt)
#   <root>/.stamp   written after a successful build; if it is newer than
#                   this script and both binaries exist, the script only
#                   prints the results (fast path).
#
# test_sgx must be run from <root>/sgx (it opens "test_encl.elf" relative to
# its working directory). Note: the 6.1 kselftest harness ignores argv, so
# `test_sgx -l` does NOT list tests, it runs them all; the list printed here
# is parsed from main.c (also saved to <root>/sgx/tests.txt).
#
# Env: SGXEMU_SELFTEST_DIR  root dir (see above)
#      SGXEMU_SELFTEST_FORCE=1  ignore the stamp and rebuild
#      CC                   compiler passed to the selftest Makefile (default gcc)
set -euo pipefail

SCRIPT_PATH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
REPO_ROOT="$(cd "$(dirname "$SCRIPT_PATH")/.." && pwd)"
ROOT="${SGXEMU_SELFTEST_DIR:-$REPO_ROOT/build/selftests}"
case "$ROOT" in /*) ;; *) ROOT="$PWD/$ROOT" ;; esac
CACHE="$ROOT/cache"
SRC="$ROOT/src"
OUT="$ROOT/sgx"
STAMP="$ROOT/.stamp"
PKG="linux-source-6.1"
TARBALL_MEMBER="./usr/src/linux-source-6.1.tar.xz"
TOP="linux-source-6.1"
SELFTEST_DIR="$SRC/tools/testing/selftests/sgx"
: "${CC:=gcc}"

# Paths (relative to the kernel tree) extracted from the tarball.
NEEDED=(
	tools/testing/selftests/sgx
	tools/testing/selftests/lib.mk
	tools/testing/selftests/kselftest.h
	tools/testing/selftests/kselftest_harness.h
	tools/testing/selftests/x86/check_cc.sh
	tools/testing/selftests/x86/trivial_64bit_program.c
	arch/x86/include/asm/sgx.h
	arch/x86/include/asm/enclu.h
	arch/x86/include/uapi/asm/sgx.h
	tools/include
)

log() { printf 'build-selftests: %s\n' "$*" >&2; }
die() { printf 'build-selftests: ERROR: %s\n' "$*" >&2; exit 1; }

print_results() {
	echo "SGX selftests built in: $OUT"
	echo "  $OUT/test_sgx"
	echo "  $OUT/test_sgx_filter (test_sgx with -t TEST)"
	echo "  $OUT/test_encl.elf"
	echo "Run from that directory: (cd $OUT && ./test_sgx)"
	echo "Tests ($(wc -l <"$OUT/tests.txt")):"
	sed 's/^/  /' "$OUT/tests.txt"
}

fast_path_ok() {
	[ "${SGXEMU_SELFTEST_FORCE:-0}" != 1 ] &&
	[ -f "$STAMP" ] && [ "$STAMP" -nt "$SCRIPT_PATH" ] &&
	[ -x "$OUT/test_sgx" ] && [ -x "$OUT/test_sgx_filter" ] && [ -s "$OUT/test_encl.elf" ] &&
	[ -s "$OUT/tests.txt" ] && [ -f "$SELFTEST_DIR/main.c" ]
}

if fast_path_ok; then
	print_results
	exit 0
fi

mkdir -p "$ROOT" "$CACHE"

# Serialise concurrent runs (e.g. two test targets building at once).
if command -v flock >/dev/null 2>&1; then
	exec 9>"$ROOT/.lock"
	flock 9
	# Someone else may have finished the build while we waited.
	if fast_path_ok; then
		print_results
		exit 0
	fi
fi

# A (re)build is starting: the old stamp no longer vouches for anything.
rm -f "$STAMP"

# ---------------------------------------------------------------- deps ----
SUDO=()
if [ "$(id -u)" != 0 ]; then
	command -v sudo >/dev/null 2>&1 && SUDO=(sudo -n)
fi

APT_UPDATED=0
apt_update_once() {
	if [ "$APT_UPDATED" = 0 ]; then
		log "apt-get update"
		"${SUDO[@]}" apt-get update -qq >&2 || die "apt-get update failed"
		APT_UPDATED=1
	fi
}

missing=()
for p in libssl-dev gcc make xz-utils libc6-dev binutils; do
	if ! dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed'; then
		missing+=("$p")
	fi
done
if [ "${#missing[@]}" -gt 0 ]; then
	log "installing missing packages: ${missing[*]}"
	apt_update_once
	DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq \
		--no-install-recommends "${missing[@]}" >&2 ||
		die "apt-get install ${missing[*]} failed"
fi
for t in dpkg-deb tar xz make "${CC%% *}"; do
	command -v "$t" >/dev/null 2>&1 || die "required tool '$t' not found"
done

# ------------------------------------------------------------ download ----
find_deb() {
	ls -1 "$CACHE"/${PKG}_*_all.deb 2>/dev/null | sort -V | tail -n 1
}

DEB="$(find_deb || true)"
if [ -z "$DEB" ] || ! dpkg-deb --info "$DEB" >/dev/null 2>&1; then
	[ -n "$DEB" ] && { log "removing corrupt $DEB"; rm -f "$DEB"; }
	log "downloading $PKG into $CACHE"
	# APT::Sandbox::User=root: the cache dir may not be writable by _apt.
	dl() { (cd "$CACHE" && apt-get download -q -o APT::Sandbox::User=root "$PKG" >&2); }
	if ! dl; then
		# On a fresh machine the package lists may be missing or stale.
		apt_update_once
		dl || die "apt-get download $PKG failed"
	fi
	DEB="$(find_deb || true)"
	[ -n "$DEB" ] || die "apt-get download produced no ${PKG}_*_all.deb in $CACHE"
fi
log "using $(basename "$DEB")"

# ------------------------------------------------------------- extract ----
# Stream: .deb -> data tar -> linux-source-6.1.tar.xz -> only NEEDED paths.
# Nothing but the needed files is ever written to disk.
SRC_TMP="$ROOT/src.tmp.$$"
rm -rf "$SRC_TMP"
mkdir -p "$SRC_TMP"
trap 'rm -rf "$SRC_TMP"' EXIT
members=()
for p in "${NEEDED[@]}"; do members+=("$TOP/$p"); done
log "extracting ${#NEEDED[@]} paths from $TARBALL_MEMBER"
if ! dpkg-deb --fsys-tarfile "$DEB" |
	tar -xOf - "$TARBALL_MEMBER" |
	tar -xJf - -C "$SRC_TMP" --strip-components=1 "${members[@]}"; then
	die "extraction from $(basename "$DEB") failed (missing member? corrupt .deb? delete $CACHE and retry)"
fi
for p in "${NEEDED[@]}"; do
	[ -e "$SRC_TMP/$p" ] || die "extracted tree lacks $p"
done
rm -rf "$SRC"
mv "$SRC_TMP" "$SRC"
trap - EXIT

# --------------------------------------------------------------- build ----
# If check_cc.sh cannot build a trivial 64-bit program, the selftest Makefile
# sets no targets and "succeeds" without building anything: check it first.
cc_ok="$(cd "$SRC/tools/testing/selftests/x86" &&
	sh ./check_cc.sh "$CC" ./trivial_64bit_program.c 2>/dev/null || true)"
[ "$cc_ok" = 1 ] ||
	die "x86/check_cc.sh says '$CC' cannot build a 64-bit program (got '$cc_ok'); the selftest Makefile would silently build nothing"

rm -rf "$OUT"
mkdir -p "$OUT"
log "building with: make -C $SELFTEST_DIR OUTPUT=$OUT CC=$CC"
if ! make -C "$SELFTEST_DIR" OUTPUT="$OUT" CC="$CC" -j"$(nproc 2>/dev/null || echo 2)" >"$OUT/build.log" 2>&1; then
	cat "$OUT/build.log" >&2
	die "selftest make failed (log: $OUT/build.log)"
fi
for f in test_sgx test_encl.elf; do
	[ -s "$OUT/$f" ] || {
		cat "$OUT/build.log" >&2
		die "make succeeded but $OUT/$f was not built (check_cc.sh / CAN_BUILD_X86_64 problem?)"
	}
done
[ -x "$OUT/test_sgx" ] || die "$OUT/test_sgx is not executable"

# test_sgx_filter: the same test_sgx with the -t filter of later kselftest
# harnesses (tests/selftest/harness_filter.c includes main.c unmodified), for
# the EPC cgroup series' test plan (scripts/test-shared.sh).
if ! (cd "$SELFTEST_DIR" &&
	$CC -Wall -Werror -g -I../../../../tools/include -I. -fPIC -z noexecstack \
		-o "$OUT/test_sgx_filter" "$REPO_ROOT/tests/selftest/harness_filter.c" \
		"$OUT/load.o" "$OUT/sigstruct.o" "$OUT/call.o" "$OUT/sign_key.o" -lcrypto) \
	>>"$OUT/build.log" 2>&1; then
	tail -n 30 "$OUT/build.log" >&2
	die "building test_sgx_filter failed (log: $OUT/build.log)"
fi

# Test list: the 6.1 harness has no -l (it ignores argv and runs everything),
# so parse the TEST_F / TEST_F_TIMEOUT registrations from main.c, in order.
sed -nE 's/^TEST_F(_TIMEOUT)?\(([A-Za-z0-9_]+), *([A-Za-z0-9_]+)(, *([0-9]+))?\).*/\2.\3\4/p' \
	"$SELFTEST_DIR/main.c" | sed -E 's/, *([0-9]+)$/ (timeout \1s)/' >"$OUT/tests.txt"
[ -s "$OUT/tests.txt" ] || die "could not parse any TEST_F from $SELFTEST_DIR/main.c"

touch "$STAMP"
print_results
