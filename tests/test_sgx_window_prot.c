// SPDX-License-Identifier: MIT
/*
 * Window protection = the mapping's protection narrowed to the EPCM
 * permissions (window.c, "Window protection"), the protection-fault fixup
 * that widens it again when the EPCM allows an access, and the EPC peak
 * counter.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "sgx/encl.h"
#include "sgx/sgx.h"
#include "sgx/window.h"
#include "tests/harness.h"
#include "tests/util/mgr_util.h"

#define BASE	TEST_ADDR(0x7d0000000000ULL)
#define RW	(SGX_SECINFO_R | SGX_SECINFO_W)

static uint64_t pg(uint64_t i)
{
	return BASE + i * 4096;
}

/* The protection of the mapping at addr as /proc/self/maps shows it ("rw-s"), or "" if none. */
static const char *maps_prot(uint64_t addr)
{
	static char out[5];
	char line[512];
	FILE *f = fopen("/proc/self/maps", "r");

	out[0] = 0;
	if (!f)
		return out;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		char perms[5];

		if (sscanf(line, "%lx-%lx %4s", &lo, &hi, perms) == 3 && addr >= lo && addr < hi) {
			memcpy(out, perms, 5);
			break;
		}
	}
	fclose(f);
	return out;
}

static sigjmp_buf segv_jmp;

static void test_segv(int sig)
{
	siglongjmp(segv_jmp, 1);
}

/* 1 if writing (or reading) the byte at addr faults with SIGSEGV. */
static int access_faults(uint64_t addr, bool write)
{
	volatile uint8_t *q = (volatile uint8_t *)(uintptr_t)addr;
	struct sigaction sa, old;
	int faulted = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = test_segv;
	sigaction(SIGSEGV, &sa, &old);
	if (!sigsetjmp(segv_jmp, 1)) {
		if (write)
			*q = *q;
		else
			(void)*q;
	} else {
		faulted = 1;
	}
	sigaction(SIGSEGV, &old, NULL);
	return faulted;
}

static void evict_all(struct sgx_platform *p, struct mgr_encl *e)
{
	struct sgx_encl_stats es;
	int i;

	for (i = 0; i < 64; i++) {
		sgx_encl_get_stats(e->encl, &es);
		if (!es.resident_pages)
			return;
		sgx_reclaim_pages(p);
	}
}

/*
 * pages 0, 1: REG RW; 2: TCS; 3: REG R; 4..7 holes. Mapped: [0, 3) RW, 3 R,
 * [4, 8) RWX.
 */
static struct sgx_platform *prot_setup(struct mgr_encl *e)
{
	struct sgx_platform *p = mgr_window_platform(64, 1, false, true);

	if (!p)
		return NULL;
	if (mgr_encl_create(e, p, BASE, 32 * 4096) ||
	    mgr_encl_add(e, 0, 2, SGX_SECINFO_REG | RW, false, NULL) ||
	    mgr_encl_add(e, 2 * 4096, 1, SGX_SECINFO_TCS, false, NULL) ||
	    mgr_encl_add(e, 3 * 4096, 1, SGX_SECINFO_REG | SGX_SECINFO_R, false, NULL) ||
	    mgr_encl_init(e) ||
	    sgx_mmap(e->encl, pg(0), 3 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED) ||
	    sgx_mmap(e->encl, pg(3), 4096, PROT_READ, MAP_SHARED) ||
	    sgx_mmap(e->encl, pg(4), 4 * 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_SHARED))
		return NULL;
	return p;
}

static long restrict_perms(struct mgr_encl *e, uint64_t i, uint64_t perms)
{
	struct sgx_enclave_restrict_permissions rp = {
		.offset = i * 4096, .length = 4096, .permissions = perms,
	};

	return sgx_ioctl(e->encl, SGX_IOC_ENCLAVE_RESTRICT_PERMISSIONS, (unsigned long)&rp);
}

static long modify_type(struct mgr_encl *e, uint64_t i, uint64_t type)
{
	struct sgx_enclave_modify_types mt = {
		.offset = i * 4096, .length = 4096, .page_type = type,
	};

	return sgx_ioctl(e->encl, SGX_IOC_ENCLAVE_MODIFY_TYPES, (unsigned long)&mt);
}

TEST(sgx_window_prot_is_vma_and_epcm)
{
	struct mgr_encl e;
	struct sgx_platform *p = prot_setup(&e);

	REQUIRE(p);
	/* A TCS is never accessible to the program; REG pages get the mapping's. */
	CHECK(!strcmp(maps_prot(pg(0)), "rw-s"));
	CHECK(!strcmp(maps_prot(pg(2)), "---s"));
	CHECK(!strcmp(maps_prot(pg(3)), "r--s"));
	CHECK(!strcmp(maps_prot(pg(5)), "rwxs"));	/* a hole keeps the mapping's */
	CHECK_EQ(access_faults(pg(2), false), 1);
	CHECK_EQ(access_faults(pg(0), true), 0);
	CHECK_EQ(sgx_window_fixup_prot(p, pg(2), false, false), SGX_FAULT_EPCM_VIOLATION);
	CHECK_EQ(sgx_window_fixup_prot(p, pg(3), true, false), SGX_FAULT_VMA_VIOLATION);
	CHECK_EQ(sgx_window_fixup_prot(p, pg(0), true, false), SGX_FAULT_RESOLVED);
	CHECK_EQ(sgx_window_fixup_prot(p, pg(20), false, false), SGX_FAULT_NOT_MINE);
	CHECK_EQ(sgx_window_fixup_prot(p, BASE - 4096, false, false), SGX_FAULT_NOT_MINE);

	/* EAUG on fault: the EPCM gives RW, so the RWX mapping loses X on that page. */
	CHECK_EQ(access_faults(pg(5), true), 0);
	CHECK(!strcmp(maps_prot(pg(5)), "rw-s"));
	CHECK(!strcmp(maps_prot(pg(6)), "rwxs"));
	CHECK_EQ(sgx_window_fixup_prot(p, pg(5), false, true), SGX_FAULT_EPCM_VIOLATION);

	/* The narrowing survives eviction and reload; mprotect cannot undo it. */
	evict_all(p, &e);
	CHECK_EQ(access_faults(pg(0), false), 0);
	CHECK(!strcmp(maps_prot(pg(2)), "---s"));
	CHECK_EQ(sgx_mprotect(p, pg(0), 3 * 4096, PROT_READ), 0);
	CHECK(!strcmp(maps_prot(pg(0)), "r--s"));
	CHECK_EQ(sgx_mprotect(p, pg(0), 3 * 4096, PROT_READ | PROT_WRITE), 0);
	CHECK(!strcmp(maps_prot(pg(0)), "rw-s"));
	CHECK(!strcmp(maps_prot(pg(2)), "---s"));

	CHECK_EQ(sgx_munmap(p, BASE, 8 * 4096), 0);
	mgr_encl_close(&e);
	CHECK_EQ(mgr_platform_finish(p), 0);
}

TEST(sgx_window_prot_follows_emodpr_and_emodt)
{
	struct sgx_platform_stats st;
	struct mgr_encl e;
	struct sgx_platform *p = prot_setup(&e);

	REQUIRE(p);
	/* EMODPR to R: reads go on, a write is an EPCM violation. */
	REQUIRE_EQ(restrict_perms(&e, 1, SGX_SECINFO_R), 0);
	CHECK(!strcmp(maps_prot(pg(1)), "r--s"));
	CHECK_EQ(access_faults(pg(1), false), 0);
	CHECK_EQ(access_faults(pg(1), true), 1);
	CHECK_EQ(sgx_window_fixup_prot(p, pg(1), true, false), SGX_FAULT_EPCM_VIOLATION);
	/* Even after the page was evicted: the fixup loads it to ask the EPCM. */
	evict_all(p, &e);
	CHECK_EQ(sgx_window_fixup_prot(p, pg(1), true, false), SGX_FAULT_EPCM_VIOLATION);

	/* EMODT to TCS: revoked in the window, whatever the mapping says. */
	REQUIRE_EQ(modify_type(&e, 0, SGX_PAGE_TYPE_TCS), 0);
	CHECK(!strcmp(maps_prot(pg(0)), "---s"));
	CHECK_EQ(access_faults(pg(0), false), 1);
	CHECK_EQ(sgx_window_fixup_prot(p, pg(0), false, false), SGX_FAULT_EPCM_VIOLATION);

	sgx_platform_get_stats(p, &st);
	CHECK(st.epcm_violations >= 3);
	CHECK_EQ(sgx_munmap(p, BASE, 8 * 4096), 0);
	mgr_encl_close(&e);
	CHECK_EQ(mgr_platform_finish(p), 0);
}

/*
 * EMODPE runs inside the enclave and widens the EPCM without the manager
 * knowing: the window stays narrower than the EPCM until an access faults.
 * Modelled by making the manager's idea of the EPCM narrower than the EPCM.
 */
TEST(sgx_window_prot_fixup_widens_after_emodpe)
{
	struct sgx_platform_stats st;
	struct sgx_encl_page *entry;
	struct mgr_encl e;
	struct sgx_platform *p = prot_setup(&e);

	REQUIRE(p);
	pthread_mutex_lock(&e.encl->lock);
	entry = sgx_xa_load(&e.encl->page_array, PFN_DOWN(pg(0)));
	REQUIRE(entry);
	entry->epcm_perm = SGX_SECINFO_R;
	pthread_mutex_unlock(&e.encl->lock);
	sgx_encl_window_sync_prot(e.encl, pg(0), pg(1));
	CHECK(!strcmp(maps_prot(pg(0)), "r--s"));
	CHECK_EQ(access_faults(pg(0), true), 1);

	CHECK_EQ(sgx_window_fixup_prot(p, pg(0), true, false), SGX_FAULT_RESOLVED);
	CHECK(!strcmp(maps_prot(pg(0)), "rw-s"));
	CHECK_EQ(access_faults(pg(0), true), 0);
	pthread_mutex_lock(&e.encl->lock);
	CHECK_EQ(entry->epcm_perm, RW);
	pthread_mutex_unlock(&e.encl->lock);
	/* The EPCM has no X and the mapping none either: still refused, for the right reason. */
	CHECK_EQ(sgx_window_fixup_prot(p, pg(0), false, true), SGX_FAULT_VMA_VIOLATION);

	sgx_platform_get_stats(p, &st);
	CHECK(st.prot_fixups >= 1);
	CHECK_EQ(sgx_munmap(p, BASE, 8 * 4096), 0);
	mgr_encl_close(&e);
	CHECK_EQ(mgr_platform_finish(p), 0);
}

TEST(sgx_stats_peak_used_pages)
{
	struct sgx_platform *p = mgr_platform(64, 1, false, false);
	struct sgx_platform_stats st;
	struct mgr_encl e;
	uint64_t used;

	REQUIRE(p);
	sgx_platform_get_stats(p, &st);
	CHECK_EQ(st.peak_used_pages, 0);	/* sanitization is not use */
	REQUIRE_EQ(mgr_encl_build(&e, p, BASE, 32 * 4096, 10), 0);
	used = mgr_used_pages(p);
	CHECK_EQ(used, 12);			/* 10 pages + SECS + one VA page */
	mgr_encl_close(&e);
	sgx_platform_get_stats(p, &st);
	CHECK_EQ(st.peak_used_pages, used);
	CHECK_EQ(mgr_used_pages(p), 0);
	CHECK_EQ(mgr_platform_finish(p), 0);
}
