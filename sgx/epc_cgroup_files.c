// SPDX-License-Identifier: MIT
/*
 * The misc controller's interface files for the "sgx_epc" resource, in the
 * kernel's exact text formats (kernel/cgroup/misc.c, mainline):
 *
 *   file               where      text
 *   misc.capacity      root only  "sgx_epc <bytes>\n"        if capacity != 0
 *   misc.current       everywhere "sgx_epc <bytes>\n"        if capacity or usage
 *   misc.peak          everywhere "sgx_epc <bytes>\n"        if capacity or peak
 *   misc.max           non-root   "sgx_epc max\n" | "sgx_epc <bytes>\n" if capacity
 *   misc.events        non-root   "sgx_epc.max <n>\n"        if capacity or n
 *   misc.events.local  non-root   "sgx_epc.max <n>\n"        if capacity or n
 *
 * Only misc.max is writable: "sgx_epc <n>" (kstrtou64, base 0) or
 * "sgx_epc max", surrounding whitespace ignored.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "sgx/epc_cgroup.h"
#include "sgx/internal.h"

/* kernfs hands a write of at most one page to the file's handler. */
#define SGX_EPC_CG_WRITE_MAX	4096

enum misc_file {
	MISC_CAPACITY,
	MISC_CURRENT,
	MISC_PEAK,
	MISC_MAX,
	MISC_EVENTS,
	MISC_EVENTS_LOCAL,
	MISC_NR_FILES,
};

static const struct {
	const char *name;
	bool on_root;
	bool on_child;
} misc_files[MISC_NR_FILES] = {
	[MISC_CAPACITY]		= { "misc.capacity",	 true,	false },
	[MISC_CURRENT]		= { "misc.current",	 true,	true },
	[MISC_PEAK]		= { "misc.peak",	 true,	true },
	[MISC_MAX]		= { "misc.max",		 false,	true },
	[MISC_EVENTS]		= { "misc.events",	 false,	true },
	[MISC_EVENTS_LOCAL]	= { "misc.events.local", false,	true },
};

/* The file of that name at cg's level, or -ENOENT. */
static int misc_file_find(struct sgx_epc_cgroup *cg, const char *name)
{
	bool root = !cg->parent;
	int i;

	if (!name)
		return -ENOENT;
	for (i = 0; i < MISC_NR_FILES; i++) {
		if (strcmp(misc_files[i].name, name))
			continue;
		if (root ? misc_files[i].on_root : misc_files[i].on_child)
			return i;
		return -ENOENT;
	}
	return -ENOENT;
}

static int show_value(char *buf, size_t len, bool shown, const char *key, uint64_t v)
{
	int n;

	if (!len)
		return -EINVAL;
	if (!shown) {
		buf[0] = '\0';
		return 0;
	}
	n = snprintf(buf, len, "%s %" PRIu64 "\n", key, v);
	if (n < 0 || (size_t)n >= len)
		return -EINVAL;
	return n;
}

int sgx_epc_cgroup_file_show(struct sgx_epc_cgroup *cg, const char *file, char *buf, size_t len)
{
	uint64_t cap = atomic_load(&cg->tree->capacity);
	int f = misc_file_find(cg, file);
	uint64_t v;
	int n;

	if (f < 0)
		return f;
	if (!buf)
		return -EINVAL;
	switch (f) {
	case MISC_CAPACITY:
		return show_value(buf, len, cap, SGX_EPC_MISC_RES_NAME, cap);
	case MISC_CURRENT:
		v = atomic_load(&cg->usage);
		return show_value(buf, len, cap || v, SGX_EPC_MISC_RES_NAME, v);
	case MISC_PEAK:
		v = atomic_load(&cg->watermark);
		return show_value(buf, len, cap || v, SGX_EPC_MISC_RES_NAME, v);
	case MISC_EVENTS:
		v = atomic_load(&cg->events);
		return show_value(buf, len, cap || v, SGX_EPC_MISC_RES_NAME ".max", v);
	case MISC_EVENTS_LOCAL:
		v = atomic_load(&cg->events_local);
		return show_value(buf, len, cap || v, SGX_EPC_MISC_RES_NAME ".max", v);
	case MISC_MAX:
		v = atomic_load(&cg->max);
		if (!cap || v != SGX_EPC_MISC_MAX_NUM)
			return show_value(buf, len, cap, SGX_EPC_MISC_RES_NAME, v);
		if (!len)
			return -EINVAL;
		n = snprintf(buf, len, "%s %s\n", SGX_EPC_MISC_RES_NAME, SGX_EPC_MISC_MAX_STR);
		if (n < 0 || (size_t)n >= len)
			return -EINVAL;
		return n;
	}
	return -ENOENT;
}

/*
 * The kernel's kstrtou64(s, 0, ...) on a NUL-terminated string: optional
 * '+', "0x"/"0X" + hex digit = hex, leading 0 = octal, else decimal; one
 * trailing '\n' allowed; overflow -ERANGE (checked before trailing junk,
 * as the kernel does), no digits or junk -EINVAL.
 */
static int kstrtou64_cstr(const char *s, uint64_t *res)
{
	unsigned int base = 10, digits = 0;
	bool overflow = false;
	uint64_t v = 0;

	if (*s == '+')
		s++;
	if (s[0] == '0') {
		if (tolower((unsigned char)s[1]) == 'x' && isxdigit((unsigned char)s[2])) {
			base = 16;
			s += 2;
		} else {
			base = 8;
		}
	}
	for (;; s++, digits++) {
		unsigned int c = (unsigned char)*s, d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (tolower(c) >= 'a' && tolower(c) <= 'f')
			d = (unsigned int)tolower(c) - 'a' + 10;
		else
			break;
		if (d >= base)
			break;
		if (v > (UINT64_MAX - d) / base)
			overflow = true;
		v = v * base + d;
	}
	if (overflow)
		return -ERANGE;
	if (!digits)
		return -EINVAL;
	if (*s == '\n')
		s++;
	if (*s)
		return -EINVAL;
	*res = v;
	return 0;
}

int sgx_kstrtou64(const char *s, size_t len, uint64_t *v)
{
	char tmp[SGX_EPC_CG_WRITE_MAX + 1];

	if (!s || !v || len > SGX_EPC_CG_WRITE_MAX)
		return -EINVAL;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	return kstrtou64_cstr(tmp, v);
}

/* strstrip(): the string without leading and trailing whitespace (in place). */
static char *strstrip(char *s)
{
	size_t n;

	while (isspace((unsigned char)*s))
		s++;
	n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

int sgx_misc_cg_max_write(struct sgx_epc_cgroup *cg, const char *buf, size_t len)
{
	char tmp[SGX_EPC_CG_WRITE_MAX + 1];
	char *s, *sep;
	uint64_t max;
	int ret;

	if (!cg->parent)
		return -ENOENT;		/* no misc.max on the root */
	if (!buf || len > SGX_EPC_CG_WRITE_MAX)
		return -EINVAL;
	/* kernfs NUL-terminates the copy; an embedded NUL ends the string. */
	memcpy(tmp, buf, len);
	tmp[len] = '\0';
	s = strstrip(tmp);

	/* strsep(&buf, " "): the resource name, then everything after one space */
	sep = strchr(s, ' ');
	if (!sep)
		return -EINVAL;
	*sep++ = '\0';
	if (strcmp(s, SGX_EPC_MISC_RES_NAME))
		return -EINVAL;
	if (!strcmp(sep, SGX_EPC_MISC_MAX_STR)) {
		max = SGX_EPC_MISC_MAX_NUM;
	} else {
		ret = kstrtou64_cstr(sep, &max);
		if (ret)
			return ret;
	}
	if (!atomic_load(&cg->tree->capacity))
		return -EINVAL;
	atomic_store(&cg->max, max);
	/*
	 * v4's max_write callback: a lowered limit is enforced by the worker,
	 * reclaiming and (kill policy) killing. With the enomem policy, as from
	 * v6 on, a limit only blocks new allocations.
	 */
	if (cg->tree->oom_policy == SGX_EPC_OOM_KILL)
		sgx_epc_cgroup_queue_reclaim(cg);
	return 0;
}

int sgx_epc_cgroup_read(struct sgx_epc_cg_tree *tree, const char *path, const char *file,
			char *buf, size_t len)
{
	struct sgx_epc_cgroup *cg = sgx_epc_cgroup_lookup(tree, path);
	int ret;

	if (IS_ERR(cg))
		return (int)PTR_ERR(cg);
	ret = sgx_epc_cgroup_file_show(cg, file, buf, len);
	sgx_epc_cgroup_put(cg);
	return ret;
}

int sgx_epc_cgroup_write(struct sgx_epc_cg_tree *tree, const char *path, const char *file,
			 const char *buf, size_t len)
{
	struct sgx_epc_cgroup *cg = sgx_epc_cgroup_lookup(tree, path);
	int ret;

	if (IS_ERR(cg))
		return (int)PTR_ERR(cg);
	ret = misc_file_find(cg, file);
	if (ret >= 0)
		ret = ret == MISC_MAX ? sgx_misc_cg_max_write(cg, buf, len) : -EACCES;
	sgx_epc_cgroup_put(cg);
	return ret;
}
