#!/usr/bin/env bash
# setup.sh - the two set-up commands of the README, on a fresh Debian 12:
#
#   ./scripts/setup.sh showcase   install dependencies, build, run the showcase: the
#                                 CPU-level walk-through, then sgxemu's example
#                                 SGX program (an enclave with a 48 MiB heap on a
#                                 16 MiB EPC) under `sgxemu run --stats`
#   ./scripts/setup.sh test       install dependencies, build everything (normal,
#                                 ASan+UBSan, ThreadSanitizer, libFuzzer targets,
#                                 Linux's SGX selftests), run every test suite
#
# Exit status: that of the showcase or of scripts/test.sh; 1 if a build failed,
# 2 for a bad argument.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

JOBS="${SGXEMU_JOBS:-2}"

usage() {
	echo "usage: $0 showcase|test" >&2
	exit 2
}

step() { printf '\n==> %s\n' "$*"; }

build() {
	step "make $*"
	if ! make -j"$JOBS" "$@"; then
		echo "setup: the build failed: make $*" >&2
		exit 1
	fi
}

[ $# -eq 1 ] || usage
case "$1" in
showcase)
	step "installing dependencies"
	./scripts/install-deps.sh
	build
	# From the repository root: the showcase finds sgxemu and
	# examples/bigheap next to itself in build/.
	step "build/sgxemu showcase"
	exec build/sgxemu showcase
	;;
test)
	step "installing dependencies"
	./scripts/install-deps.sh
	build
	build SAN=asan
	build SAN=tsan
	build fuzz
	# Linux's SGX selftests (GPL-2.0, fetched and built here, never committed).
	# The tests use their signing key, and sgxemu's own harness around their
	# sigstruct.c proves that the CPU's MRENCLAVE equals theirs; test_sgx
	# itself runs once `sgxemu run` exists. Not fatal: without them those
	# tests are skipped, and the skips show in the total.
	step "scripts/build-selftests.sh"
	./scripts/build-selftests.sh >/dev/null ||
		echo "setup: WARNING: building Linux's SGX selftests failed (see above)" >&2
	step "scripts/selftest-mrenclave.sh"
	./scripts/selftest-mrenclave.sh >/dev/null ||
		echo "setup: WARNING: the MRENCLAVE harness was not built; selftest_mrenclave_* tests will skip" >&2
	step "scripts/test.sh"
	exec ./scripts/test.sh
	;;
*)
	usage
	;;
esac
