// SPDX-License-Identifier: MIT
/* CPU tests: configuration, sections, CPUID leaf 0x12 and 7, MSRs, aliasing, names. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/cpu_internal.h"
#include "tests/harness.h"
#include "tests/util/cpu_encl.h"

TEST(cpu_default_config)
{
	struct sgx_cpu_config c;
	struct sgx_cpu *cpu;

	sgx_cpu_default_config(&c);
	CHECK_EQ(c.epc_size, SGX_CPU_DEFAULT_EPC_SIZE);
	CHECK_EQ(c.nr_sections, 1);
	CHECK(c.sgx2);
	CHECK_EQ(c.miscselect, SGX_MISC_EXINFO);
	CHECK_EQ(c.xfrm, 3);
	CHECK_EQ(c.epc_phys_base, SGX_CPU_DEFAULT_PHYS_BASE);
	CHECK(c.attributes & SGX_ATTR_MODE64BIT);
	CHECK(c.attributes & SGX_ATTR_KSS);
	REQUIRE_EQ(sgx_cpu_create(&c, &cpu), 0);
	CHECK_EQ(sgx_cpu_nr_frames(cpu), SGX_CPU_DEFAULT_EPC_SIZE / 4096);
	CHECK(sgx_cpu_config(cpu)->have_secret);
	CHECK(sgx_cpu_frame_addr(cpu, sgx_cpu_nr_frames(cpu)) == NULL);
	CHECK_EQ(cpu_test_invariants(cpu), 0);
	sgx_cpu_destroy(cpu);
}

TEST(cpu_config_validation)
{
	struct sgx_cpu_config c;
	struct sgx_cpu *cpu = NULL;

#define BAD(field, value) do {                                   \
		sgx_cpu_default_config(&c);                      \
		c.field = value;                                 \
		CHECK_EQ(sgx_cpu_create(&c, &cpu), -EINVAL);     \
	} while (0)
	BAD(nr_sections, 0);
	BAD(nr_sections, 9);
	BAD(epc_size, 0);
	BAD(epc_size, 4096 * 3 + 1);
	BAD(epc_size, 4096);			/* < 2 pages per section */
	BAD(max_lps, 0);
	BAD(max_lps, 1025);
	BAD(miscselect, 2);
	BAD(attributes, SGX_ATTR_MODE64BIT | (1ULL << 3));
	BAD(xfrm, 1);
	BAD(epc_phys_base, 0x1001);
	sgx_cpu_default_config(&c);
	c.nr_sections = 3;
	c.epc_size = 4096 * 4;			/* not divisible by 3 sections */
	CHECK_EQ(sgx_cpu_create(&c, &cpu), -EINVAL);
	CHECK_EQ(sgx_cpu_create(NULL, &cpu), -EINVAL);
#undef BAD
}

static uint64_t cpuid_base(const uint32_t r[4])
{
	return (r[0] & 0xFFFFF000ULL) | ((uint64_t)(r[1] & 0xFFFFF) << 32);
}

static uint64_t cpuid_size(const uint32_t r[4])
{
	return (r[2] & 0xFFFFF000ULL) | ((uint64_t)(r[3] & 0xFFFFF) << 32);
}

TEST(cpu_cpuid_one_section)
{
	struct sgx_cpu *cpu = cpu_test_create(SGX_CPU_DEFAULT_EPC_SIZE, 1);
	uint32_t r[4];

	REQUIRE(cpu);
	REQUIRE(sgx_cpu_cpuid(cpu, 0x12, 0, r));
	CHECK_EQ(r[0], 3);			/* SGX1 | SGX2 */
	CHECK_EQ(r[1], SGX_MISC_EXINFO);
	CHECK_EQ(r[3] & 0xFF, 31);
	CHECK_EQ((r[3] >> 8) & 0xFF, 47);
	REQUIRE(sgx_cpu_cpuid(cpu, 0x12, 1, r));
	CHECK_EQ(r[0], (uint32_t)sgx_cpu_config(cpu)->attributes);
	CHECK_EQ(r[1], 0);
	CHECK_EQ(r[2], 3);
	CHECK_EQ(r[3], 0);
	REQUIRE(sgx_cpu_cpuid(cpu, 0x12, 2, r));
	CHECK_EQ(r[0] & 0xF, SGX_CPUID_EPC_SECTION);
	CHECK_EQ(cpuid_base(r), SGX_CPU_DEFAULT_PHYS_BASE);
	CHECK_EQ(cpuid_size(r), SGX_CPU_DEFAULT_EPC_SIZE);
	CHECK(sgx_cpu_memremap(cpu, cpuid_base(r), cpuid_size(r)) == sgx_cpu_frame_addr(cpu, 0));
	CHECK(sgx_cpu_memremap(cpu, cpuid_base(r), 4096) == NULL);
	REQUIRE(sgx_cpu_cpuid(cpu, 0x12, 3, r));
	CHECK_EQ(r[0] & 0xF, SGX_CPUID_EPC_INVALID);
	/* Leaf 7: only the SGX bits change. */
	r[0] = 0x11; r[1] = 0x100; r[2] = 0x1; r[3] = 0x22;
	REQUIRE(sgx_cpu_cpuid(cpu, 7, 0, r));
	CHECK_EQ(r[0], 0x11);
	CHECK_EQ(r[1], 0x100 | 4);
	CHECK_EQ(r[2], 0x1 | (1u << 30));
	CHECK_EQ(r[3], 0x22);
	CHECK(!sgx_cpu_cpuid(cpu, 7, 1, r));
	CHECK(!sgx_cpu_cpuid(cpu, 1, 0, r));
	sgx_cpu_destroy(cpu);
}

TEST(cpu_cpuid_two_sections)
{
	struct sgx_cpu_config c;
	struct sgx_cpu *cpu;
	uint32_t r[4];
	uint64_t total = 0, half;

	sgx_cpu_default_config(&c);
	c.nr_sections = 2;
	c.epc_size = 0x4000000ULL;		/* 2 x 32 MiB */
	c.epc_phys_base = 0x1000000000ULL;	/* base needs EBX bits */
	REQUIRE_EQ(sgx_cpu_create(&c, &cpu), 0);
	half = c.epc_size / 2;
	for (uint32_t sub = 2; sub < 12; sub++) {
		REQUIRE(sgx_cpu_cpuid(cpu, 0x12, sub, r));
		if ((r[0] & 0xF) != SGX_CPUID_EPC_SECTION)
			break;
		CHECK_EQ(cpuid_base(r), c.epc_phys_base + (sub - 2) * half);
		CHECK_EQ(cpuid_size(r), half);
		CHECK(sgx_cpu_memremap(cpu, cpuid_base(r), cpuid_size(r)) != NULL);
		total += cpuid_size(r);
	}
	CHECK_EQ(total, c.epc_size);
	CHECK_EQ(sgx_cpu_nr_frames(cpu), c.epc_size / 4096);
	/* Frames are numbered sections in order. */
	CHECK(sgx_cpu_frame_addr(cpu, half / 4096) ==
	      sgx_cpu_memremap(cpu, c.epc_phys_base + half, half));
	sgx_cpu_destroy(cpu);
}

TEST(cpu_msrs)
{
	struct sgx_cpu *cpu = cpu_test_create(64 * 4096, 1);
	uint64_t v;

	REQUIRE(cpu);
	CHECK_EQ(sgx_cpu_rdmsr(cpu, MSR_IA32_SGXLEPUBKEYHASH0, &v), 0);
	CHECK(v != 0);				/* some reset value */
	CHECK_EQ(sgx_cpu_wrmsr(cpu, MSR_IA32_SGXLEPUBKEYHASH2, 0x1234), 0);
	CHECK_EQ(sgx_cpu_rdmsr(cpu, MSR_IA32_SGXLEPUBKEYHASH2, &v), 0);
	CHECK_EQ(v, 0x1234);
	CHECK_EQ(sgx_cpu_wrmsr(cpu, 0x8B, 1), -EINVAL);
	CHECK_EQ(sgx_cpu_wrmsr(cpu, 0x90, 1), -EINVAL);
	CHECK_EQ(sgx_cpu_rdmsr(cpu, 0x90, &v), -EINVAL);
	CHECK_EQ(sgx_cpu_rdmsr(cpu, 0x8C, NULL), -EINVAL);
	sgx_cpu_destroy(cpu);
}

TEST(cpu_alias_and_data)
{
	struct sgx_cpu *cpu = cpu_test_create(64 * 4096, 1);
	struct cpu_pool pool;
	struct built_encl e;
	struct cpu_evicted *ev = aligned_alloc(4096, sizeof(*ev));
	uint8_t *win = aligned_alloc(4096, 4096), *src = aligned_alloc(4096, 4096);
	uint64_t *va;
	void *page, *dst;

	REQUIRE(cpu && ev && win && src);
	REQUIRE_EQ(cpu_pool_init(&pool, cpu, 0, 64), 0);
	memset(src, 0x33, 4096);
	REQUIRE_EQ(cpu_encl_create(&e, cpu, &pool, 0x40000000, 0x10000, SGX_ATTR_MODE64BIT), 0);
	REQUIRE_EQ(cpu_encl_add(&e, 0x1000, src, SGX_SECINFO_REG | 3, true, &page), 0);
	REQUIRE_EQ(cpu_encl_init(&e), 0);
	va = cpu_epa(&pool);
	CHECK(sgx_epc_data(cpu, page) == page);
	CHECK(sgx_epc_data(cpu, src) == NULL);
	CHECK_EQ(sgx_epc_alias(cpu, (uint8_t *)page + 8, win), -EINVAL);
	CHECK_EQ(sgx_epc_alias(cpu, page, win + 8), -EINVAL);
	CHECK_EQ(sgx_epc_alias(cpu, e.secs, win), -EINVAL);
	CHECK_EQ(sgx_epc_alias(cpu, va, win), -EINVAL);
	REQUIRE(sgx_frame_trylock(cpu, sgx_epc_frame(cpu, (uint64_t)(uintptr_t)page)));
	CHECK_EQ(sgx_epc_alias(cpu, page, win), -EBUSY);
	sgx_frame_unlock(cpu, sgx_epc_frame(cpu, (uint64_t)(uintptr_t)page));
	memcpy(win, page, 4096);
	REQUIRE_EQ(sgx_epc_alias(cpu, page, win), 0);
	CHECK(sgx_epc_data(cpu, page) == win);
	win[5] = 0x77;				/* native code writes the window */
	/* EWB encrypts the alias's bytes; ELDU brings them back home. */
	REQUIRE_EQ(cpu_evict(cpu, e.secs, page, 0x40001000, &va[0], ev), 0);
	dst = cpu_pool_alloc(&pool);
	REQUIRE_EQ(cpu_reload(cpu, e.secs, dst, ev, false), 0);
	CHECK(sgx_epc_data(cpu, dst) == dst);
	CHECK_EQ(((uint8_t *)dst)[5], 0x77);
	CHECK_EQ(((uint8_t *)dst)[6], 0x33);
	/* Ending an alias copies the bytes home. */
	memcpy(win, dst, 4096);
	REQUIRE_EQ(sgx_epc_alias(cpu, dst, win), 0);
	win[9] = 0x99;
	REQUIRE_EQ(sgx_epc_alias(cpu, dst, NULL), 0);
	CHECK_EQ(((uint8_t *)dst)[9], 0x99);
	CHECK(sgx_epc_data(cpu, dst) == dst);
	CHECK_EQ(cpu_test_invariants(cpu), 0);
	free(ev);
	free(win);
	free(src);
	sgx_cpu_destroy(cpu);
}

TEST(cpu_names)
{
	CHECK(strcmp(sgx_encls_name(EWB), "EWB") == 0);
	CHECK(strcmp(sgx_encls_name(EDGBRD), "EDBGRD") == 0);
	CHECK(strcmp(sgx_encls_name(99), "ENCLS(unknown)") == 0);
	CHECK(strcmp(sgx_enclu_name(EACCEPT), "EACCEPT") == 0);
	CHECK(strcmp(sgx_enclu_name(8), "ENCLU(unknown)") == 0);
	CHECK(strcmp(sgx_status_name(SGX_NOT_TRACKED), "SGX_NOT_TRACKED") == 0);
	CHECK(strcmp(sgx_status_name(SGX_UNMASKED_EVENT), "SGX_UNMASKED_EVENT") == 0);
	CHECK(strcmp(sgx_status_name(SGX_ENCLS_FAULT_FLAG | 13), "#GP") == 0);
	CHECK(strcmp(sgx_status_name(SGX_ENCLS_FAULT_FLAG | 14), "#PF") == 0);
	CHECK(strcmp(sgx_status_name(12345), "SGX_UNKNOWN_STATUS") == 0);
}

TEST(cpu_invariants_detect_corruption)
{
	struct sgx_cpu *cpu = cpu_test_create(64 * 4096, 1);
	struct cpu_pool pool;
	struct built_encl e;
	char buf[128];
	void *page;
	int64_t s;

	REQUIRE(cpu);
	REQUIRE_EQ(cpu_pool_init(&pool, cpu, 0, 64), 0);
	REQUIRE_EQ(cpu_encl_create(&e, cpu, &pool, 0x40000000, 0x10000, SGX_ATTR_MODE64BIT), 0);
	REQUIRE_EQ(cpu_encl_add(&e, 0x1000, NULL, SGX_SECINFO_REG | 3, false, &page), 0);
	CHECK_EQ(sgx_cpu_check_invariants(cpu, buf, sizeof(buf)), 0);
	s = sgx_epc_frame(cpu, (uint64_t)(uintptr_t)e.secs);
	cpu->epcm[s].child_count++;
	CHECK_EQ(sgx_cpu_check_invariants(cpu, buf, sizeof(buf)), -1);
	CHECK(strstr(buf, "child_count") != NULL);
	cpu->epcm[s].child_count--;
	((uint64_t *)cpu_epa(&pool))[3] = 1ULL << 60;	/* a version never issued */
	CHECK_EQ(sgx_cpu_check_invariants(cpu, buf, sizeof(buf)), -1);
	CHECK(strstr(buf, "never issued") != NULL);
	sgx_cpu_destroy(cpu);
}
