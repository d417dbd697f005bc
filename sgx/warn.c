// SPDX-License-Identifier: MIT
/*
 * SGX_WARN(): the kernel's WARN()/pr_warn(), usable from the fault path.
 * stdio is not async-signal-safe (and the SIGBUS handler's paths can warn:
 * ELDU failing, EWB failing in direct reclaim), so the message is formatted
 * here into a stack buffer and written with one write(2). Conversions: %d %i
 * %u %x %ld %li %lu %lx %s %%, which is all the manager uses.
 */
#include <stdarg.h>
#include <unistd.h>

#include "sgx/internal.h"

struct warn_buf {
	char s[512];
	unsigned int n;
};

static void put_char(struct warn_buf *b, char c)
{
	if (b->n < sizeof(b->s) - 1)
		b->s[b->n++] = c;
}

static void put_str(struct warn_buf *b, const char *s)
{
	if (!s)
		s = "(null)";
	while (*s)
		put_char(b, *s++);
}

static void put_num(struct warn_buf *b, unsigned long v, bool neg, unsigned int base)
{
	char digits[24];
	int i = 0;

	do {
		digits[i++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	if (neg)
		put_char(b, '-');
	while (i)
		put_char(b, digits[--i]);
}

static void sgx_vlog(const char *prefix, const char *fmt, va_list ap)
{
	struct warn_buf b = { .n = 0 };

	put_str(&b, prefix);
	for (; *fmt; fmt++) {
		bool is_long = false;
		long sv;

		if (*fmt != '%') {
			put_char(&b, *fmt);
			continue;
		}
		if (*++fmt == 'l') {
			is_long = true;
			fmt++;
		}
		switch (*fmt) {
		case 'd':
		case 'i':
			sv = is_long ? va_arg(ap, long) : va_arg(ap, int);
			put_num(&b, sv < 0 ? -(unsigned long)sv : (unsigned long)sv, sv < 0, 10);
			break;
		case 'u':
			put_num(&b, is_long ? va_arg(ap, unsigned long) : va_arg(ap, unsigned int),
				false, 10);
			break;
		case 'x':
			put_num(&b, is_long ? va_arg(ap, unsigned long) : va_arg(ap, unsigned int),
				false, 16);
			break;
		case 's':
			put_str(&b, va_arg(ap, const char *));
			break;
		case '%':
			put_char(&b, '%');
			break;
		case '\0':
			fmt--;
			break;
		default:	/* not supported: show it rather than guess its argument */
			put_char(&b, '%');
			put_char(&b, *fmt);
			break;
		}
	}
	put_char(&b, '\n');
	if (write(STDERR_FILENO, b.s, b.n) < 0)
		return;	/* nowhere to report it */
}

void sgx_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sgx_vlog("sgx: WARNING: ", fmt, ap);
	va_end(ap);
}

void sgx_log_safe(const char *prefix, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sgx_vlog(prefix, fmt, ap);
	va_end(ap);
}
