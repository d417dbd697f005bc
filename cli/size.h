/* SPDX-License-Identifier: MIT */
/*
 * Sizes on the command line: "16M", "93.5MiB", "1G", "0x1000000", "4096".
 * Shared by every command that takes a size (--epc today, run/daemon later).
 */
#ifndef SGXEMU_CLI_SIZE_H
#define SGXEMU_CLI_SIZE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Parse 's' into *out. Accepted: a decimal number (optionally with a
 * fraction, "93.5"), or a 0x hexadecimal number (no fraction), followed by
 * an optional binary suffix K, M, G, T (case-insensitive, optionally
 * followed by "iB" or "B"). A fraction must give a whole number of bytes.
 * If 'align' is not 0 the result must be a non-zero multiple of it.
 *
 * Returns 0, -EINVAL (not a size), -ERANGE (does not fit in 64 bits) or
 * -EDOM (zero or not a multiple of 'align'). *out is written only on success.
 */
int parse_size(const char *s, uint64_t align, uint64_t *out);

/* A message for the errors of parse_size(). */
const char *size_strerror(int err);

/*
 * Format 'bytes' for people: "93.5 MiB", "4 KiB", "123 B" (binary units,
 * at most one decimal, exact values keep no trailing ".0"). Returns buf.
 */
char *format_size(uint64_t bytes, char *buf, size_t len);

#endif /* SGXEMU_CLI_SIZE_H */
