// SPDX-License-Identifier: MIT
/*
 * The emulated SGX CPU as a value: configuration, EPC sections and their host
 * mappings, CPUID leaf 0x12, the launch-control MSRs, the paging key and the
 * ENCLS entry point (statistics around the leaf dispatcher).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "cpu/cpu_internal.h"

#define SGX_CPUID_MAX_ENCL_SIZE_NOT64	31
#define SGX_CPUID_MAX_ENCL_SIZE_64	47
/* CPUID.12.2+: EPC section property "confidentiality and integrity protected". */
#define SGX_CPUID_EPC_PROTECTED		0x1

void sgx_cpu_default_config(struct sgx_cpu_config *c)
{
	memset(c, 0, sizeof(*c));
	c->epc_size = SGX_CPU_DEFAULT_EPC_SIZE;
	c->nr_sections = 1;
	c->sgx2 = true;
	c->miscselect = SGX_MISC_EXINFO;
	/*
	 * CPUID.12.1 reports INIT as a valid attribute bit; ECREATE still
	 * refuses a SECS with INIT set (only EINIT sets it).
	 */
	c->attributes = SGX_ATTR_INIT | SGX_ATTR_DEBUG | SGX_ATTR_MODE64BIT |
			SGX_ATTR_PROVISIONKEY | SGX_ATTR_EINITTOKENKEY | SGX_ATTR_KSS;
	/*
	 * x87|SSE only: enclave code runs natively on the host, and larger XSAVE
	 * state would need the host's XCR0; a configuration may add bits the
	 * host has.
	 */
	c->xfrm = 0x3;
	c->epc_phys_base = SGX_CPU_DEFAULT_PHYS_BASE;
	c->max_lps = SGX_CPU_DEFAULT_MAX_LPS;
}

static bool config_valid(const struct sgx_cpu_config *c)
{
	uint64_t per_section;

	if (c->nr_sections < 1 || c->nr_sections > SGX_MAX_EPC_SECTIONS)
		return false;
	if (!c->epc_size || c->epc_size % (SGX_PAGE_SIZE * c->nr_sections))
		return false;
	per_section = c->epc_size / c->nr_sections;
	if (per_section < 2 * SGX_PAGE_SIZE)
		return false;
	/* Sections must be expressible in CPUID (52-bit physical addresses). */
	if (c->epc_phys_base & (SGX_PAGE_SIZE - 1) ||
	    c->epc_phys_base + c->epc_size < c->epc_phys_base ||
	    (c->epc_phys_base + c->epc_size) >> 52)
		return false;
	if (c->max_lps < 1 || c->max_lps > SGX_CPU_MAX_LPS)
		return false;
	/* The emulator implements exactly the EXINFO MISC region. */
	if (c->miscselect & ~SGX_MISC_EXINFO)
		return false;
	if (c->attributes & SGX_ATTR_RESERVED_MASK)
		return false;
	if ((c->attributes & SGX_ATTR_MODE64BIT) == 0)
		return false;
	if ((c->xfrm & 0x3) != 0x3)
		return false;
	return true;
}

static void cpu_free(struct sgx_cpu *cpu)
{
	for (unsigned int i = 0; i < SGX_CPU_NR_GCM; i++) {
		if (cpu->gcm[i].gcm)
			sgx_gcm_free(cpu->gcm[i].gcm);
		pthread_mutex_destroy(&cpu->gcm[i].lock);
	}
	for (unsigned int i = 0; i < cpu->nr_sections; i++)
		if (cpu->sections[i].virt)
			munmap(cpu->sections[i].virt, cpu->sections[i].size);
	if (cpu->epcm) {
		for (uint64_t f = 0; f < cpu->nr_frames; f++)
			pthread_mutex_destroy(&cpu->epcm[f].secs_lock);
	}
	free(cpu->epcm);
	free(cpu->index_heads);
	free(cpu->lps);
	pthread_rwlock_destroy(&cpu->epcm_lock);
	pthread_mutex_destroy(&cpu->lp_lock);
	memset(cpu->paging_key, 0, sizeof(cpu->paging_key));
	free(cpu);
}

/* Paging key = SHA-256(secret || label)[0:16]: one-way, so it reveals nothing else. */
static void derive_paging_key(const uint8_t secret[32], uint8_t key[16])
{
	static const char label[] = "sgxemu EWB/ELDU paging key";
	struct sgx_sha256 h;
	uint8_t digest[32];

	sgx_sha256_init(&h);
	sgx_sha256_update(&h, secret, 32);
	sgx_sha256_update(&h, label, sizeof(label) - 1);
	sgx_sha256_final(&h, digest);
	memcpy(key, digest, 16);
	memset(digest, 0, sizeof(digest));
}

int sgx_cpu_create(const struct sgx_cpu_config *c, struct sgx_cpu **out)
{
	static const char default_le[] = "sgxemu default launch enclave key";
	struct sgx_cpu *cpu;
	uint8_t hash[32];
	uint64_t buckets;

	if (!c || !out || !config_valid(c))
		return -EINVAL;
	*out = NULL;
	cpu = calloc(1, sizeof(*cpu));
	if (!cpu)
		return -ENOMEM;
	cpu->config = *c;
	pthread_rwlock_init(&cpu->epcm_lock, NULL);
	pthread_mutex_init(&cpu->lp_lock, NULL);
	for (unsigned int i = 0; i < SGX_CPU_NR_GCM; i++)
		pthread_mutex_init(&cpu->gcm[i].lock, NULL);

	if (!c->have_secret && sgx_random_bytes(cpu->config.secret, 32)) {
		cpu_free(cpu);
		return -ENOMEM;
	}
	cpu->config.have_secret = true;

	cpu->nr_sections = c->nr_sections;
	cpu->frames_per_section = c->epc_size / c->nr_sections / SGX_PAGE_SIZE;
	cpu->nr_frames = cpu->frames_per_section * c->nr_sections;
	for (unsigned int i = 0; i < c->nr_sections; i++) {
		struct sgx_epc_section *s = &cpu->sections[i];
		void *m;

		s->size = cpu->frames_per_section * SGX_PAGE_SIZE;
		s->phys = c->epc_phys_base + i * s->size;
		s->first_frame = i * cpu->frames_per_section;
		s->nr_frames = cpu->frames_per_section;
		m = mmap(NULL, s->size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (m == MAP_FAILED) {
			cpu_free(cpu);
			return -ENOMEM;
		}
		s->virt = m;
	}

	cpu->epcm = calloc(cpu->nr_frames, sizeof(*cpu->epcm));
	for (buckets = 1; buckets < cpu->nr_frames; buckets <<= 1)
		;
	cpu->index_heads = malloc(buckets * sizeof(*cpu->index_heads));
	cpu->lps = calloc(c->max_lps, sizeof(*cpu->lps));
	if (!cpu->epcm || !cpu->index_heads || !cpu->lps) {
		cpu_free(cpu);
		return -ENOMEM;
	}
	cpu->index_mask = buckets - 1;
	for (uint64_t b = 0; b < buckets; b++)
		cpu->index_heads[b] = SGX_NO_FRAME;
	for (uint64_t f = 0; f < cpu->nr_frames; f++) {
		pthread_mutex_init(&cpu->epcm[f].secs_lock, NULL);
		cpu->epcm[f].secs = SGX_NO_FRAME;
		cpu->epcm[f].hash_next = SGX_NO_FRAME;
	}
	for (unsigned int i = 0; i < c->max_lps; i++) {
		cpu->lps[i].cpu = cpu;
		cpu->lps[i].id = i;
		cpu->lps[i].secs_frame = SGX_NO_FRAME;
		cpu->lps[i].tcs_frame = SGX_NO_FRAME;
	}

	derive_paging_key(cpu->config.secret, cpu->paging_key);
	for (unsigned int i = 0; i < SGX_CPU_NR_GCM; i++) {
		cpu->gcm[i].gcm = sgx_gcm_new(cpu->paging_key);
		if (!cpu->gcm[i].gcm) {
			cpu_free(cpu);
			return -ENOMEM;
		}
	}

	/* Reset value of the LE hash MSRs; the kernel rewrites them before EINIT. */
	sgx_sha256(default_le, sizeof(default_le) - 1, hash);
	memcpy(cpu->lepubkeyhash, hash, sizeof(hash));

	atomic_init(&cpu->next_version, 1);
	atomic_init(&cpu->next_enclave_id, 1);
	*out = cpu;
	return 0;
}

void sgx_cpu_destroy(struct sgx_cpu *cpu)
{
	if (cpu)
		cpu_free(cpu);
}

const struct sgx_cpu_config *sgx_cpu_config(const struct sgx_cpu *cpu)
{
	return &cpu->config;
}

bool sgx_cpu_cpuid(const struct sgx_cpu *cpu, uint32_t leaf, uint32_t subleaf, uint32_t regs[4])
{
	const struct sgx_cpu_config *c = &cpu->config;

	if (leaf == 7) {
		if (subleaf != 0)
			return false;
		regs[1] |= 1u << 2;	/* EBX: SGX */
		regs[2] |= 1u << 30;	/* ECX: SGX_LC */
		return true;
	}
	if (leaf != SGX_CPUID)
		return false;

	regs[0] = regs[1] = regs[2] = regs[3] = 0;
	if (subleaf == 0) {
		regs[0] = 1u | (c->sgx2 ? 2u : 0u);
		regs[1] = c->miscselect;
		regs[3] = SGX_CPUID_MAX_ENCL_SIZE_NOT64 | (SGX_CPUID_MAX_ENCL_SIZE_64 << 8);
	} else if (subleaf == 1) {
		regs[0] = (uint32_t)c->attributes;
		regs[1] = (uint32_t)(c->attributes >> 32);
		regs[2] = (uint32_t)c->xfrm;
		regs[3] = (uint32_t)(c->xfrm >> 32);
	} else if (subleaf - SGX_CPUID_EPC < cpu->nr_sections) {
		const struct sgx_epc_section *s = &cpu->sections[subleaf - SGX_CPUID_EPC];

		regs[0] = SGX_CPUID_EPC_SECTION | (uint32_t)(s->phys & 0xFFFFF000u);
		regs[1] = (uint32_t)(s->phys >> 32) & 0xFFFFFu;
		regs[2] = SGX_CPUID_EPC_PROTECTED | (uint32_t)(s->size & 0xFFFFF000u);
		regs[3] = (uint32_t)(s->size >> 32) & 0xFFFFFu;
	}
	/* Any further subleaf: type 0 (invalid), all zero. */
	return true;
}

void *sgx_cpu_memremap(struct sgx_cpu *cpu, uint64_t phys, uint64_t size)
{
	for (unsigned int i = 0; i < cpu->nr_sections; i++)
		if (cpu->sections[i].phys == phys && cpu->sections[i].size == size)
			return cpu->sections[i].virt;
	return NULL;
}

int sgx_cpu_wrmsr(struct sgx_cpu *cpu, uint32_t msr, uint64_t value)
{
	if (msr < MSR_IA32_SGXLEPUBKEYHASH0 || msr > MSR_IA32_SGXLEPUBKEYHASH3)
		return -EINVAL;
	__atomic_store_n(&cpu->lepubkeyhash[msr - MSR_IA32_SGXLEPUBKEYHASH0], value,
			 __ATOMIC_RELAXED);
	return 0;
}

int sgx_cpu_rdmsr(struct sgx_cpu *cpu, uint32_t msr, uint64_t *value)
{
	if (!value || msr < MSR_IA32_SGXLEPUBKEYHASH0 || msr > MSR_IA32_SGXLEPUBKEYHASH3)
		return -EINVAL;
	*value = __atomic_load_n(&cpu->lepubkeyhash[msr - MSR_IA32_SGXLEPUBKEYHASH0],
				 __ATOMIC_RELAXED);
	return 0;
}

/* ---- frames ---- */

int64_t sgx_epc_frame_containing(const struct sgx_cpu *cpu, uint64_t addr)
{
	for (unsigned int i = 0; i < cpu->nr_sections; i++) {
		const struct sgx_epc_section *s = &cpu->sections[i];
		uint64_t start = (uint64_t)(uintptr_t)s->virt;

		if (addr >= start && addr - start < s->size)
			return (int64_t)(s->first_frame + ((addr - start) >> SGX_PAGE_SHIFT));
	}
	return SGX_NO_FRAME;
}

int64_t sgx_epc_frame(const struct sgx_cpu *cpu, uint64_t addr)
{
	if (addr & (SGX_PAGE_SIZE - 1))
		return SGX_NO_FRAME;
	return sgx_epc_frame_containing(cpu, addr);
}

void *sgx_frame_home(const struct sgx_cpu *cpu, int64_t frame)
{
	uint64_t f = (uint64_t)frame;
	const struct sgx_epc_section *s = &cpu->sections[f / cpu->frames_per_section];

	return s->virt + (f - s->first_frame) * SGX_PAGE_SIZE;
}

void *sgx_frame_data(const struct sgx_cpu *cpu, int64_t frame)
{
	void *alias = cpu->epcm[frame].alias;

	return alias ? alias : sgx_frame_home(cpu, frame);
}

bool sgx_frame_trylock(struct sgx_cpu *cpu, int64_t frame)
{
	bool expected = false;

	return atomic_compare_exchange_strong_explicit(&cpu->epcm[frame].busy, &expected, true,
						       memory_order_acquire,
						       memory_order_relaxed);
}

void sgx_frame_unlock(struct sgx_cpu *cpu, int64_t frame)
{
	atomic_store_explicit(&cpu->epcm[frame].busy, false, memory_order_release);
}

void sgx_epcm_read_lock(struct sgx_cpu *cpu)
{
	pthread_rwlock_rdlock(&cpu->epcm_lock);
}

void sgx_epcm_read_unlock(struct sgx_cpu *cpu)
{
	pthread_rwlock_unlock(&cpu->epcm_lock);
}

void sgx_epcm_write_lock(struct sgx_cpu *cpu)
{
	pthread_rwlock_wrlock(&cpu->epcm_lock);
}

void sgx_epcm_write_unlock(struct sgx_cpu *cpu)
{
	pthread_rwlock_unlock(&cpu->epcm_lock);
}

struct sgx_gcm_slot *sgx_cpu_gcm_get(struct sgx_cpu *cpu)
{
	for (unsigned int i = 0; i < SGX_CPU_NR_GCM; i++)
		if (pthread_mutex_trylock(&cpu->gcm[i].lock) == 0)
			return &cpu->gcm[i];
	/* All busy: wait for one, spreading waiters by thread identity. */
	unsigned int k = (unsigned int)((uintptr_t)pthread_self() >> 8) % SGX_CPU_NR_GCM;

	pthread_mutex_lock(&cpu->gcm[k].lock);
	return &cpu->gcm[k];
}

void sgx_cpu_gcm_put(struct sgx_gcm_slot *slot)
{
	pthread_mutex_unlock(&slot->lock);
}

/* ---- public EPC page interface ---- */

void *sgx_epc_data(struct sgx_cpu *cpu, void *epc)
{
	int64_t f = sgx_epc_frame(cpu, (uint64_t)(uintptr_t)epc);
	void *data;

	if (f < 0)
		return NULL;
	sgx_epcm_read_lock(cpu);
	data = sgx_frame_data(cpu, f);
	sgx_epcm_read_unlock(cpu);
	return data;
}

int sgx_epc_alias(struct sgx_cpu *cpu, void *epc, void *host_page)
{
	int64_t f = sgx_epc_frame(cpu, (uint64_t)(uintptr_t)epc);
	struct sgx_epcm_entry *e;
	int ret = 0;

	if (f < 0 || ((uintptr_t)host_page & (SGX_PAGE_SIZE - 1)))
		return -EINVAL;
	if (!sgx_frame_trylock(cpu, f))
		return -EBUSY;
	e = &cpu->epcm[f];
	sgx_epcm_write_lock(cpu);
	/* Pages with linear addresses only; a TRIM page was REG or TCS (EMODT). */
	if (!e->valid || (e->type != SGX_PAGE_TYPE_REG && e->type != SGX_PAGE_TYPE_TCS &&
			  e->type != SGX_PAGE_TYPE_TRIM)) {
		ret = -EINVAL;
	} else if (!host_page) {
		if (e->alias)
			memcpy(sgx_frame_home(cpu, f), e->alias, SGX_PAGE_SIZE);
		e->alias = NULL;
	} else {
		e->alias = host_page;
	}
	sgx_epcm_write_unlock(cpu);
	sgx_frame_unlock(cpu, f);
	return ret;
}

int sgx_epcm_read(struct sgx_cpu *cpu, void *epc, struct sgx_epcm_info *info)
{
	int64_t f = sgx_epc_frame(cpu, (uint64_t)(uintptr_t)epc);
	const struct sgx_epcm_entry *e;

	if (f < 0 || !info)
		return -EINVAL;
	memset(info, 0, sizeof(*info));
	sgx_epcm_read_lock(cpu);
	e = &cpu->epcm[f];
	info->valid = e->valid;
	if (e->valid) {
		info->blocked = e->blocked;
		info->pending = e->pending;
		info->modified = e->modified;
		info->pr = e->pr;
		info->page_type = e->type;
		info->perm = e->perm;
		info->linaddr = e->linaddr;
		info->secs = e->secs >= 0 ? sgx_frame_home(cpu, e->secs) : NULL;
		if (e->type == SGX_PAGE_TYPE_SECS) {
			const struct sgx_secs_hidden *h = sgx_secs_hidden(cpu, f);

			info->enclave_id = h->enclave_id;
			info->child_count = e->child_count;
			info->initialized = h->initialized;
		}
	}
	sgx_epcm_read_unlock(cpu);
	return 0;
}

uint64_t sgx_cpu_nr_frames(const struct sgx_cpu *cpu)
{
	return cpu->nr_frames;
}

void *sgx_cpu_frame_addr(struct sgx_cpu *cpu, uint64_t i)
{
	if (i >= cpu->nr_frames)
		return NULL;
	return sgx_frame_home(cpu, (int64_t)i);
}

/* ---- ENCLS entry and statistics ---- */

int sgx_encls(struct sgx_cpu *cpu, uint32_t leaf, uint64_t rbx, uint64_t rcx, uint64_t rdx)
{
	int ret;

	if (!cpu)
		return SGX_FAULT_GP;
	ret = sgx_encls_dispatch(cpu, leaf, rbx, rcx, rdx);
	if (leaf < 16)
		sgx_stat_inc(&cpu->stats.encls[leaf]);
	if (encls_faulted(ret))
		sgx_stat_inc(&cpu->stats.encls_faults);
	else if (ret)
		sgx_stat_inc(&cpu->stats.encls_errors);
	return ret;
}

void sgx_cpu_get_stats(struct sgx_cpu *cpu, struct sgx_cpu_stats *out)
{
	for (unsigned int i = 0; i < 16; i++)
		out->encls[i] = atomic_load_explicit(&cpu->stats.encls[i], memory_order_relaxed);
	for (unsigned int i = 0; i < 8; i++)
		out->enclu[i] = atomic_load_explicit(&cpu->stats.enclu[i], memory_order_relaxed);
	out->aex = atomic_load_explicit(&cpu->stats.aex, memory_order_relaxed);
	out->encls_faults = atomic_load_explicit(&cpu->stats.encls_faults,
						 memory_order_relaxed);
	out->encls_errors = atomic_load_explicit(&cpu->stats.encls_errors,
						 memory_order_relaxed);
}
