// SPDX-License-Identifier: MIT
/*
 * Size parsing and formatting for the command line. Integer arithmetic
 * only: a size like "93.5M" must give exactly 98041856 bytes, which a
 * double would do here but not for every input, and overflow must be
 * detected, not rounded away.
 */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli/size.h"

/* Parse digits in 'base' into *val; returns the number of digits read. */
static int parse_digits(const char **p, unsigned int base, uint64_t *val, bool *overflow)
{
	int n = 0;

	*val = 0;
	for (;; (*p)++, n++) {
		int c = tolower((unsigned char)**p);
		unsigned int d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (base == 16 && c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else
			break;
		if (*val > (UINT64_MAX - d) / base)
			*overflow = true;
		else
			*val = *val * base + d;
	}
	return n;
}

/* The suffix at *p: its multiplier, or 0 if it is not one we accept. */
static uint64_t parse_suffix(const char *p)
{
	static const char units[] = "kmgt";
	const char *u;
	uint64_t mult;

	if (*p == '\0')
		return 1;
	u = strchr(units, tolower((unsigned char)*p));
	if (!u)
		return 0;
	mult = 1ULL << (10 * (u - units + 1));
	p++;
	if (!strcmp(p, "") || !strcmp(p, "B") || !strcmp(p, "iB") || !strcmp(p, "ib") ||
	    !strcmp(p, "b"))
		return mult;
	return 0;
}

int parse_size(const char *s, uint64_t align, uint64_t *out)
{
	uint64_t whole, frac = 0, frac_div = 1, mult, value;
	bool overflow = false;
	const char *p = s;
	int nfrac = 0;

	if (!s || !out)
		return -EINVAL;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		p += 2;
		if (parse_digits(&p, 16, &whole, &overflow) == 0)
			return -EINVAL;
	} else {
		if (parse_digits(&p, 10, &whole, &overflow) == 0)
			return -EINVAL;
		if (*p == '.') {
			p++;
			/* More than 18 fraction digits cannot be exact anyway. */
			for (; isdigit((unsigned char)*p); p++, nfrac++) {
				if (nfrac >= 18)
					return -EINVAL;
				frac = frac * 10 + (*p - '0');
				frac_div *= 10;
			}
			if (nfrac == 0)
				return -EINVAL;
		}
	}
	mult = parse_suffix(p);
	if (mult == 0)
		return -EINVAL;
	if (overflow || whole > UINT64_MAX / mult)
		return -ERANGE;
	value = whole * mult;
	if (nfrac) {
		/* frac < frac_div <= 1e18 and mult <= 2^40: do it in 128 bits. */
		unsigned __int128 f = (unsigned __int128)frac * mult;

		if (f % frac_div)
			return -EINVAL;	/* not a whole number of bytes */
		f /= frac_div;
		if (f > UINT64_MAX - value)
			return -ERANGE;
		value += (uint64_t)f;
	}
	if (align && (value == 0 || value % align))
		return -EDOM;
	*out = value;
	return 0;
}

const char *size_strerror(int err)
{
	switch (err) {
	case 0:
		return "success";
	case -EINVAL:
		return "not a size (examples: 4096, 0x1000000, 16M, 93.5MiB, 1G)";
	case -ERANGE:
		return "too large";
	case -EDOM:
		return "must be a non-zero multiple of the page size (4 KiB)";
	default:
		return "invalid size";
	}
}

char *format_size(uint64_t bytes, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	unsigned int u = 0;
	uint64_t scale = 1;

	while (u + 1 < sizeof(units) / sizeof(units[0]) && bytes / scale >= 1024) {
		scale <<= 10;
		u++;
	}
	if (bytes % scale == 0) {
		snprintf(buf, len, "%llu %s", (unsigned long long)(bytes / scale), units[u]);
	} else {
		/* One decimal, rounded to nearest, in integers. */
		unsigned __int128 tenths = ((unsigned __int128)bytes * 10 + scale / 2) / scale;

		snprintf(buf, len, "%llu.%llu %s", (unsigned long long)(tenths / 10),
			 (unsigned long long)(tenths % 10), units[u]);
	}
	return buf;
}
