#!/usr/bin/env bash
# test.sh - run every test suite of sgxemu and add up the results.
#
# Suites (each prints its own output, then one summary line
# "N passed, N failed[, N skipped]" that this script parses):
#   1. unit and integration tests      build/tests/sgxemu-tests
#   2. the same under ASan + UBSan     build-asan/tests/sgxemu-tests
#      and under ThreadSanitizer       build-tsan/tests/sgxemu-tests (enclave-mode
#                                      and preload-shim tests skip themselves)
#   3. the sgxemu command line         build/sgxemu and build-asan/sgxemu (exit codes,
#                                      showcase, bench --quick)
#   4. libFuzzer targets               build-fuzz/*, SGXEMU_FUZZ_SECONDS each (default 60),
#                                      1 passed or 1 failed per target
#   5. Linux's SGX selftests under `sgxemu run` (when that command exists),
#      then shared mode end to end: scripts/test-shared.sh (the selftests on
#      one daemon, the EPC cgroup series' test plan, a kill/limit stress)
#
# A suite that is missing (main test binaries, the CLI), crashes, hangs past
# its time limit, or ends without a summary line counts as 1 failed. A missing
# fuzz target is simply not run. The last line of output is the total:
# "N passed, N failed[, N skipped]"; the exit status is 0 only if nothing failed.
#
# Env: SGXEMU_FUZZ_SECONDS   seconds per fuzz target (default 60)
#      SGXEMU_TEST_FILTER    substring(s) passed to sgxemu-tests (default: all)
#      SGXEMU_FUZZ_JOBS      fuzz targets run at once (default: number of CPUs)
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1

FUZZ_SECONDS="${SGXEMU_FUZZ_SECONDS:-60}"
FUZZ_JOBS="${SGXEMU_FUZZ_JOBS:-$(nproc 2>/dev/null || echo 2)}"
LOGDIR="$(mktemp -d "${TMPDIR:-/tmp}/sgxemu-test.XXXXXX")"
trap 'rm -rf "$LOGDIR"' EXIT

TOTAL_PASSED=0
TOTAL_FAILED=0
TOTAL_SKIPPED=0
SUITE_RESULTS=()

SUMMARY_RE='^([0-9]+) passed, ([0-9]+) failed(, ([0-9]+) skipped)?$'

banner() { printf '\n======== %s ========\n' "$*"; }

# add NAME PASSED FAILED SKIPPED
add() {
	TOTAL_PASSED=$((TOTAL_PASSED + $2))
	TOTAL_FAILED=$((TOTAL_FAILED + $3))
	TOTAL_SKIPPED=$((TOTAL_SKIPPED + $4))
	SUITE_RESULTS+=("$(printf '%-22s %5d passed %5d failed %5d skipped' "$1" "$2" "$3" "$4")")
}

# run_suite NAME TIMEOUT_S CMD...: run a runner that ends with a summary line.
run_suite() {
	local name="$1" limit="$2" log rc line p f s
	shift 2
	log="$LOGDIR/$(echo "$name" | tr -c 'A-Za-z0-9_\n' '_').log"
	banner "$name: $*"
	timeout --kill-after=10 "$limit" "$@" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	line="$(grep -E "$SUMMARY_RE" "$log" | tail -n 1)"
	if [ -z "$line" ]; then
		[ "$rc" -eq 124 ] && echo "test.sh: $name timed out after ${limit}s" ||
			echo "test.sh: $name ended (status $rc) without a summary line"
		add "$name" 0 1 0
		return
	fi
	[[ "$line" =~ $SUMMARY_RE ]]
	p="${BASH_REMATCH[1]}" f="${BASH_REMATCH[2]}" s="${BASH_REMATCH[4]:-0}"
	# A runner that says "0 failed" but exits non-zero is not trusted.
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "test.sh: $name exited with status $rc after reporting no failure"
		f=1
	fi
	add "$name" "$p" "$f" "$s"
}

# missing NAME WHAT: a suite that cannot run at all counts as 1 failed.
missing() {
	banner "$1"
	echo "test.sh: $2 is missing (build it first: ./scripts/setup.sh test)"
	add "$1" 0 1 0
}

suite_unit() {
	local bin="build/tests/sgxemu-tests"
	# shellcheck disable=SC2086
	if [ -x "$bin" ]; then
		run_suite "tests" 1800 "$bin" ${SGXEMU_TEST_FILTER:-}
	else
		missing "tests" "$bin"
	fi
}

suite_asan() {
	local bin="build-asan/tests/sgxemu-tests"
	if [ -x "$bin" ]; then
		# shellcheck disable=SC2086
		ASAN_OPTIONS="detect_leaks=1:abort_on_error=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}" \
		UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}" \
			run_suite "tests (asan+ubsan)" 2400 "$bin" ${SGXEMU_TEST_FILTER:-}
	else
		missing "tests (asan+ubsan)" "$bin"
	fi
}

# ThreadSanitizer: the daemon (shared mode: processes, thread connections and
# their LPs, the IPI table), the manager, the EPC cgroups and the CPU's threads.
# A report makes the test's child exit with TSan's exitcode (66), so a race
# fails that test; halt_on_error=0 lets every report of the test print first.
# Tests of enclave mode and of programs under the preload shim cannot run under
# TSan and skip themselves (SKIP_UNDER_TSAN in tests/harness.h says why).
suite_tsan() {
	local bin="build-tsan/tests/sgxemu-tests"
	if [ -x "$bin" ]; then
		# shellcheck disable=SC2086
		TSAN_OPTIONS="halt_on_error=0:second_deadlock_stack=1${TSAN_OPTIONS:+:$TSAN_OPTIONS}" \
			run_suite "tests (tsan)" 1200 "$bin" ${SGXEMU_TEST_FILTER:-}
	else
		missing "tests (tsan)" "$bin"
	fi
}

# The command line, checked by exit status and output only; benchmarks run in
# their smoke mode (--quick) and nothing is asserted about their numbers.
cli_runner() {
	local cli="$1" passed=0 failed=0 out

	# check WANT_STATUS GREP_PATTERN ARGS...
	check() {
		local want="$1" pattern="$2" rc
		shift 2
		out="$("$cli" "$@" 2>&1)"
		rc=$?
		if [ "$rc" -eq "$want" ] && { [ -z "$pattern" ] || grep -qE -- "$pattern" <<<"$out"; }
		then
			passed=$((passed + 1))
			printf 'ok      sgxemu %s\n' "$*"
		else
			failed=$((failed + 1))
			printf 'FAIL    sgxemu %s (status %d, expected %d%s)\n' "$*" "$rc" "$want" \
				"${pattern:+, output matching /$pattern/}"
			tail -n 40 <<<"$out" | sed 's/^/    | /'
		fi
	}
	check 0 '^sgxemu [0-9]+\.[0-9]+' --version
	check 0 'showcase' help
	check 0 'showcase' --help
	check 0 '--epc SIZE' help showcase
	check 0 '--epc SIZE' info --help
	check 2 'unknown command' no-such-command
	check 2 '' help no-such-command
	check 2 'usage: sgxemu' 
	check 0 'EPC section 0' info
	check 0 'EPC section 3, node 3' info --epc 64M --sections 4
	check 0 'SGX2 \(EDMM\) no' info --sgx1
	check 2 'multiple of the page size' info --epc 4095
	check 2 'not a size' info --epc 12Q
	check 2 'too large' info --epc 99999999999999999999
	check 2 'cannot be split' info --epc 12K --sections 8
	check 2 'from 1 to 8' info --sections 9
	check 2 'unknown option .--bogus' info --bogus
	check 2 'needs an argument' info --epc
	check 2 'unknown option' showcase -x
	check 2 'unexpected argument' info extra
	check 0 '^cpu ' bench --list
	check 2 'unknown benchmark' bench no-such-bench
	check 2 '--reps' bench --reps 0
	check 0 '^METRIC ewb_eldu_vs_crypto [0-9.]+ x$' bench --quick
	check 0 '^OK: ' showcase
	check 0 '^OK: ' showcase --epc 1M --sections 2 --sgx1
	check 2 'too small' showcase --epc 16K
	# The shared platform's client commands without a daemon, and their usage errors.
	check 0 'sgxemu cgroup' help cgroup
	check 0 '--oom POLICY' help daemon
	check 1 'no sgxemu daemon at /nonexistent/sgxemu-test.sock' \
		cgroup --socket /nonexistent/sgxemu-test.sock tree
	check 1 'no sgxemu daemon' cgroup --socket /nonexistent/sgxemu-test.sock mkdir /a
	check 1 'no sgxemu daemon' status --socket /nonexistent/sgxemu-test.sock
	check 2 'missing subcommand' cgroup
	check 2 'unknown subcommand .frobnicate' cgroup frobnicate
	check 2 'read takes 2 arguments' cgroup read /a
	check 2 'unknown option .--bogus' cgroup --bogus tree
	check 2 'needs an argument' cgroup --socket
	check 2 'must be kill or enomem' daemon --oom maybe
	check 2 'from 1 to 4096' daemon --max-clients 0
	check 2 'unexpected argument' daemon extra
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
}

suite_cli() {
	local cli="build/sgxemu" asan_cli="build-asan/sgxemu"
	if [ -x "$cli" ]; then
		run_suite "cli" 600 ./scripts/test.sh --cli-suite "$cli"
	else
		missing "cli" "$cli"
	fi
	# The same checks on the ASan+UBSan build of the CLI (showcase, bench).
	if [ -x "$asan_cli" ]; then
		ASAN_OPTIONS="detect_leaks=1:abort_on_error=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}" \
		UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}" \
			run_suite "cli (asan+ubsan)" 900 ./scripts/test.sh --cli-suite "$asan_cli"
	else
		missing "cli (asan+ubsan)" "$asan_cli"
	fi
}

suite_fuzz() {
	local targets=() t name running=0 p=0 f=0
	banner "fuzz: every build-fuzz/* target for ${FUZZ_SECONDS}s"
	for t in build-fuzz/*; do
		[ -f "$t" ] && [ -x "$t" ] && targets+=("$t")
	done
	if [ ${#targets[@]} -eq 0 ]; then
		echo "no fuzz targets built (make fuzz); nothing to run"
		return
	fi
	# Targets run FUZZ_JOBS at a time; each writes new inputs to a scratch
	# corpus, seeded from fuzz/corpus/<name>/ when that exists.
	for t in "${targets[@]}"; do
		name="$(basename "$t")"
		mkdir -p "$LOGDIR/corpus-$name"
		(
			seeds=()
			[ -d "fuzz/corpus/$name" ] && seeds=("fuzz/corpus/$name")
			timeout --kill-after=10 $((FUZZ_SECONDS + 120)) "$t" \
				-max_total_time="$FUZZ_SECONDS" -timeout=20 -rss_limit_mb=2048 \
				-print_final_stats=1 -artifact_prefix="$LOGDIR/artifact-$name-" \
				"$LOGDIR/corpus-$name" "${seeds[@]}" \
				>"$LOGDIR/fuzz-$name.log" 2>&1
			echo $? >"$LOGDIR/fuzz-$name.rc"
		) &
		running=$((running + 1))
		if [ "$running" -ge "$FUZZ_JOBS" ]; then
			wait -n
			running=$((running - 1))
		fi
	done
	wait
	for t in "${targets[@]}"; do
		name="$(basename "$t")"
		if [ "$(cat "$LOGDIR/fuzz-$name.rc" 2>/dev/null)" = 0 ]; then
			p=$((p + 1))
			printf 'ok      fuzz/%-40s %s\n' "$name" \
				"$(grep -E '^stat::number_of_executed_units' "$LOGDIR/fuzz-$name.log" |
				   awk '{print $2 " runs"}')"
		else
			f=$((f + 1))
			printf 'FAIL    fuzz/%s (status %s)\n' "$name" \
				"$(cat "$LOGDIR/fuzz-$name.rc" 2>/dev/null || echo '?')"
			# The report first (it can be followed by many lines of stats),
			# then the input that triggered it, so a CI log is enough to
			# reproduce: printf the hex into a file and run the target on it.
			grep -v -E '^#[0-9]+' "$LOGDIR/fuzz-$name.log" | grep -A 40 -m 1 -E \
				'ERROR|runtime error|SUMMARY|deadly signal' | sed 's/^/    | /'
			for a in "$LOGDIR"/artifact-"$name"-*; do
				[ -f "$a" ] || continue
				printf '    | artifact %s: ' "$(basename "$a")"
				od -An -tx1 -v "$a" | tr -d ' \n' | head -c 2048
				echo
			done
		fi
	done
	echo "$p passed, $f failed"
	add "fuzz" "$p" "$f" 0
}

# ---------------------------------------------------------------------------
# LINUX SGX SELFTESTS: the kernel's own test_sgx (Linux 6.1, built from
# Debian's linux-source-6.1 by scripts/build-selftests.sh) under
# `build/sgxemu run`, in three configurations: SGX2 with a 16 MiB EPC (the
# oversubscription tests then really page), --sgx1 (the SGX2 tests skip as
# on SGX1 hardware) and --sections 2. Each run's kselftest line
# "# Totals: pass:N fail:N xfail:N xpass:N skip:N error:N" becomes
# "N passed, N failed, N skipped" (xfail counts as passed, xpass and error as
# failed) and goes through run_suite. A build failure (no network for apt,
# say) counts as 1 failed.
# ---------------------------------------------------------------------------
selftest_runner() {
	local cli="$1" dir="$2" log totals
	shift 2
	log="$(mktemp "${TMPDIR:-/tmp}/sgxemu-selftest.XXXXXX")"
	(cd "$dir" && timeout --kill-after=10 1500 "$cli" run "$@" -- ./test_sgx) 2>&1 |
		tee "$log"
	totals="$(grep -E '^# Totals: ' "$log" | tail -n 1)"
	rm -f "$log"
	if [[ "$totals" =~ pass:([0-9]+)\ fail:([0-9]+)\ xfail:([0-9]+)\ xpass:([0-9]+)\ skip:([0-9]+)\ error:([0-9]+) ]]; then
		echo "$((BASH_REMATCH[1] + BASH_REMATCH[3])) passed," \
		     "$((BASH_REMATCH[2] + BASH_REMATCH[4] + BASH_REMATCH[6])) failed," \
		     "${BASH_REMATCH[5]} skipped"
		[ $((BASH_REMATCH[2] + BASH_REMATCH[4] + BASH_REMATCH[6])) -eq 0 ]
	else
		echo "test_sgx ended without a kselftest Totals line"
		return 1
	fi
}

suite_linux_selftests() {
	local cli="$PWD/build/sgxemu" dir="build/selftests/sgx"
	if [ ! -x "$cli" ] || [ ! -e build/libsgxemu-preload.so ]; then
		missing "linux selftests" "build/sgxemu or build/libsgxemu-preload.so"
		return
	fi
	banner "linux selftests: scripts/build-selftests.sh"
	if ! timeout 1800 ./scripts/build-selftests.sh ||
	   [ ! -x "$dir/test_sgx" ] || [ ! -e "$dir/test_encl.elf" ]; then
		echo "test.sh: the Linux SGX selftests could not be built"
		add "linux selftests" 0 1 0
		return
	fi
	run_suite "selftests (16M)" 1600 ./scripts/test.sh --selftest-suite "$cli" "$dir" \
		--epc 16M
	run_suite "selftests (--sgx1)" 1600 ./scripts/test.sh --selftest-suite "$cli" "$dir" \
		--epc 16M --sgx1
	run_suite "selftests (--sections 2)" 1600 ./scripts/test.sh --selftest-suite "$cli" \
		"$dir" --epc 16M --sections 2
	# Shared mode: one daemon, many programs (issue 5's acceptance).
	run_suite "shared mode" 1500 ./scripts/test-shared.sh "$cli" "$dir"
}

# Internal mode: one selftest configuration (also handy by hand).
if [ "${1:-}" = "--selftest-suite" ]; then
	[ $# -ge 3 ] || { echo "usage: $0 --selftest-suite SGXEMU DIR [RUN-OPTIONS]" >&2; exit 2; }
	shift
	selftest_runner "$@"
	exit
fi

# Internal mode: the CLI suite alone (also handy by hand).
if [ "${1:-}" = "--cli-suite" ]; then
	[ $# -eq 2 ] || { echo "usage: $0 --cli-suite PATH-TO-sgxemu" >&2; exit 2; }
	cli_runner "$2"
	exit
fi
[ $# -eq 0 ] || { echo "usage: $0 (no arguments; see the comment at the top)" >&2; exit 2; }

START=$(date +%s)
suite_unit
suite_asan
suite_tsan
suite_cli
suite_fuzz
suite_linux_selftests

banner "summary ($(( $(date +%s) - START ))s)"
for r in "${SUITE_RESULTS[@]}"; do
	echo "$r"
done
# Skips are expected (the SGX2 selftests under --sgx1, as on SGX1 hardware);
# the last line is the contract: N passed, N failed.
[ "$TOTAL_SKIPPED" -eq 0 ] || echo "$TOTAL_SKIPPED skipped (counted in neither)"
echo "$TOTAL_PASSED passed, $TOTAL_FAILED failed"
[ "$TOTAL_FAILED" -eq 0 ]
