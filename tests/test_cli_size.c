// SPDX-License-Identifier: MIT
/*
 * parse_size() and format_size() of the command line (cli/size.c).
 *
 * The CLI is not part of libsgxemu.a, which is all the test binary links, so
 * the one source file under test is compiled into this test directly.
 */
#include <errno.h>
#include <string.h>

#include "harness.h"
#include "cli/size.c"

static int size_of(const char *s, uint64_t align, uint64_t *out)
{
	*out = 0xdeadbeef;
	return parse_size(s, align, out);
}

TEST(cli_size_plain_and_hex)
{
	uint64_t v;

	CHECK_EQ(size_of("4096", 0, &v), 0);
	CHECK_EQ(v, 4096);
	CHECK_EQ(size_of("0", 0, &v), 0);
	CHECK_EQ(v, 0);
	CHECK_EQ(size_of("0x1000000", 0, &v), 0);
	CHECK_EQ(v, 0x1000000);
	CHECK_EQ(size_of("0XABCdef", 0, &v), 0);
	CHECK_EQ(v, 0xabcdef);
	CHECK_EQ(size_of("18446744073709551615", 0, &v), 0);
	CHECK(v == UINT64_MAX);
	CHECK_EQ(size_of("0xffffffffffffffff", 0, &v), 0);
	CHECK(v == UINT64_MAX);
}

TEST(cli_size_suffixes)
{
	uint64_t v;

	CHECK_EQ(size_of("16M", 0, &v), 0);
	CHECK_EQ(v, 16ULL << 20);
	CHECK_EQ(size_of("16m", 0, &v), 0);
	CHECK_EQ(v, 16ULL << 20);
	CHECK_EQ(size_of("1G", 0, &v), 0);
	CHECK_EQ(v, 1ULL << 30);
	CHECK_EQ(size_of("4K", 0, &v), 0);
	CHECK_EQ(v, 4096);
	CHECK_EQ(size_of("2T", 0, &v), 0);
	CHECK_EQ(v, 2ULL << 40);
	CHECK_EQ(size_of("64MiB", 0, &v), 0);
	CHECK_EQ(v, 64ULL << 20);
	CHECK_EQ(size_of("64MB", 0, &v), 0);
	CHECK_EQ(v, 64ULL << 20);
	CHECK_EQ(size_of("0x10M", 0, &v), 0);
	CHECK_EQ(v, 16ULL << 20);
	/* The default EPC of a client part: 93.5 MiB, exactly. */
	CHECK_EQ(size_of("93.5M", 4096, &v), 0);
	CHECK_EQ(v, 0x5D80000);
	CHECK_EQ(size_of("0.5K", 0, &v), 0);
	CHECK_EQ(v, 512);
	CHECK_EQ(size_of("1.25G", 0, &v), 0);
	CHECK_EQ(v, 5ULL << 28);
}

TEST(cli_size_rejects_garbage)
{
	static const char *const bad[] = {
		"", "M", "x", "0x", "0xg", "-1", "+1", " 1", "1 ", "1MM", "1Q", "1.5",
		"1.", ".5M", "1.M", "0x1.8M", "12abc", "1MiBs", "1iB", "0.0001K",
		"1.0000000000000000001M", "1,5M",
	};
	uint64_t v;

	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = size_of(bad[i], 0, &v);

		if (r != -EINVAL)
			test_fail_at(__FILE__, __LINE__, "'%s' gave %d, not -EINVAL", bad[i], r);
		/* Nothing is written on failure. */
		CHECK_EQ(v, 0xdeadbeef);
	}
	CHECK_EQ(parse_size(NULL, 0, &v), -EINVAL);
	CHECK_EQ(parse_size("1", 0, NULL), -EINVAL);
}

TEST(cli_size_overflow)
{
	uint64_t v;

	CHECK_EQ(size_of("18446744073709551616", 0, &v), -ERANGE);
	CHECK_EQ(size_of("0x10000000000000000", 0, &v), -ERANGE);
	CHECK_EQ(size_of("99999999999999999999999999999", 0, &v), -ERANGE);
	CHECK_EQ(size_of("16777216T", 0, &v), -ERANGE);
	CHECK_EQ(size_of("16777215T", 0, &v), 0);
	CHECK(v == 16777215ULL << 40);
	CHECK_EQ(size_of("16777215.5T", 0, &v), 0);
	CHECK_EQ(size_of("16777215.99999T", 0, &v), -EINVAL);	/* not whole bytes */
	CHECK_EQ(size_of("17179869183.75G", 0, &v), 0);
	CHECK(v == UINT64_MAX - (256ULL << 20) + 1);
	/* 2^44 - 1 MiB + (1 - 2^-10) MiB = 2^64 - 1 KiB: the largest such value fits. */
	CHECK_EQ(size_of("17592186044415.9990234375M", 0, &v), 0);
	CHECK(v == UINT64_MAX - 1023);
	CHECK_EQ(size_of("17592186044416M", 0, &v), -ERANGE);
	/* More fraction digits than can ever be exact. */
	CHECK_EQ(size_of("1.0000000000000000000M", 0, &v), -EINVAL);
}

TEST(cli_size_alignment)
{
	uint64_t v;

	CHECK_EQ(size_of("4096", 4096, &v), 0);
	CHECK_EQ(size_of("4095", 4096, &v), -EDOM);
	CHECK_EQ(v, 0xdeadbeef);
	CHECK_EQ(size_of("0", 4096, &v), -EDOM);
	CHECK_EQ(size_of("0x1001", 4096, &v), -EDOM);
	CHECK_EQ(size_of("1.5K", 4096, &v), -EDOM);
	CHECK_EQ(size_of("6K", 4096, &v), -EDOM);
	CHECK_EQ(size_of("8K", 4096, &v), 0);
	CHECK_EQ(v, 8192);
	/* Syntax and range errors win over alignment. */
	CHECK_EQ(size_of("4095x", 4096, &v), -EINVAL);
	CHECK_EQ(size_of("99999999999999999999", 4096, &v), -ERANGE);
	CHECK(strlen(size_strerror(-EDOM)) > 0);
	CHECK(strcmp(size_strerror(-EINVAL), size_strerror(-ERANGE)) != 0);
}

TEST(cli_size_format)
{
	char buf[32];

	CHECK(!strcmp(format_size(0, buf, sizeof(buf)), "0 B"));
	CHECK(!strcmp(format_size(1023, buf, sizeof(buf)), "1023 B"));
	CHECK(!strcmp(format_size(4096, buf, sizeof(buf)), "4 KiB"));
	CHECK(!strcmp(format_size(0x5D80000, buf, sizeof(buf)), "93.5 MiB"));
	CHECK(!strcmp(format_size(1ULL << 30, buf, sizeof(buf)), "1 GiB"));
	CHECK(!strcmp(format_size(1536, buf, sizeof(buf)), "1.5 KiB"));
	CHECK(!strcmp(format_size(UINT64_MAX, buf, sizeof(buf)), "16.0 EiB"));
	/* A short buffer truncates, never overflows. */
	CHECK(!strcmp(format_size(0x5D80000, buf, 4), "93."));
}

TEST(cli_size_roundtrip)
{
	char buf[32];
	uint64_t v;

	/* Every half-MiB size that format_size prints parses back exactly. */
	for (unsigned int mib = 1; mib < 2048; mib++) {	/* below 1 GiB: one decimal is exact */
		uint64_t bytes = (uint64_t)mib << 19;	/* half MiB steps */
		char in[40];

		format_size(bytes, buf, sizeof(buf));
		/* "93.5 MiB" -> "93.5MiB" */
		snprintf(in, sizeof(in), "%.*s%s", (int)strcspn(buf, " "), buf,
			 buf + strcspn(buf, " ") + 1);
		REQUIRE_EQ(size_of(in, 4096, &v), 0);
		REQUIRE_EQ(v, bytes);
	}
}
