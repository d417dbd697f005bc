// SPDX-License-Identifier: MIT
/*
 * EREPORT and EGETKEY: the key hierarchy of the emulated CPU.
 *
 * Every key is AES-CMAC, under a key-derivation key taken one-way from the
 * CPU's secret, of a "key dependencies" record: the key name plus the
 * identity fields the SDM's key-derivation table selects for that key
 * (some fixed, some chosen by the KEYREQUEST's policy and masks). Same
 * request, same enclave identity, same CPU secret: same key; any selected
 * field different: an unrelated key.
 *
 * REPORT keys close the local attestation loop: EREPORT MACs the report
 * body under the REPORT key of the *target* enclave (named by TARGETINFO),
 * with the CPU's current report KEYID; the target recomputes that key with
 * EGETKEY(REPORT, KEYID of the report) from its own SECS.
 */
#include <string.h>

#include "cpu/enclu_internal.h"

/* The key dependencies record (sgxemu's own layout; only its bytes matter). */
struct keydep {
	uint16_t key_name;
	uint16_t isv_prod_id;
	uint16_t isv_svn;
	uint16_t config_svn;
	uint32_t miscselect;
	uint32_t key_policy;
	uint64_t attributes;
	uint64_t xfrm;
	uint8_t cpusvn[16];
	uint8_t mrenclave[32];
	uint8_t mrsigner[32];
	uint8_t key_id[32];
	uint8_t config_id[64];
	uint8_t owner_epoch[16];
} __attribute__((packed));

/* The platform's CPUSVN: a fixed value, so keys survive "reboots" of one secret. */
static const uint8_t platform_cpusvn[16] = { 2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 0, 0, 0, 0, 0, 0 };

void enclu_cpusvn(uint8_t out[16])
{
	memcpy(out, platform_cpusvn, sizeof(platform_cpusvn));
}

/* A labelled one-way function of the CPU secret. */
static void secret_derive(const struct sgx_cpu *cpu, const char *label, uint8_t out[32])
{
	struct sgx_sha256 h;

	sgx_sha256_init(&h);
	sgx_sha256_update(&h, cpu->config.secret, sizeof(cpu->config.secret));
	sgx_sha256_update(&h, label, strlen(label));
	sgx_sha256_final(&h, out);
}

static void derive_key(const struct sgx_cpu *cpu, const struct keydep *dep, uint8_t key[16])
{
	uint8_t kdk[32];

	secret_derive(cpu, "sgxemu EGETKEY key derivation key", kdk);
	sgx_cmac(kdk, dep, sizeof(*dep), key);
	memset(kdk, 0, sizeof(kdk));
}

/* CR_REPORT_KEYID: per CPU, reported in every REPORT. */
static void report_keyid(const struct sgx_cpu *cpu, uint8_t out[32])
{
	secret_derive(cpu, "sgxemu REPORT KEYID", out);
}

/* The REPORT key of the enclave with this identity (SDM: no request masks apply). */
static void report_key(const struct sgx_cpu *cpu, const uint8_t mrenclave[32],
		       uint64_t attributes, uint64_t xfrm, uint32_t miscselect,
		       const uint8_t config_id[64], uint16_t config_svn,
		       const uint8_t key_id[32], uint8_t key[16])
{
	struct keydep dep;

	memset(&dep, 0, sizeof(dep));
	dep.key_name = SGX_KEYNAME_REPORT;
	dep.attributes = attributes;
	dep.xfrm = xfrm;
	dep.miscselect = miscselect;
	memcpy(dep.cpusvn, platform_cpusvn, sizeof(dep.cpusvn));
	memcpy(dep.mrenclave, mrenclave, sizeof(dep.mrenclave));
	memcpy(dep.key_id, key_id, sizeof(dep.key_id));
	/* CONFIGID/CONFIGSVN only distinguish enclaves that use KSS. */
	if (attributes & SGX_ATTR_KSS) {
		memcpy(dep.config_id, config_id, sizeof(dep.config_id));
		dep.config_svn = config_svn;
	}
	derive_key(cpu, &dep, key);
	memset(&dep, 0, sizeof(dep));
}

/* An operand of a key leaf: aligned (#GP), then an enclave access (faults). */
static void *key_operand(struct enclu_call *c, uint64_t addr, uint64_t align, uint32_t access)
{
	if (addr & (align - 1)) {
		enclu_gp(c->exc);
		return NULL;
	}
	return enclu_access(c->cpu, c->secs, addr, access, c->exc, NULL);
}

int enclu_ereport(struct enclu_call *c)
{
	struct sgx_cpu *cpu = c->cpu;
	const struct sgx_targetinfo *ti_p;
	const struct sgx_secs *secs;
	struct sgx_targetinfo ti;
	struct sgx_report rep;
	const void *data_p;
	uint8_t key[16];
	void *out;

	sgx_epcm_read_lock(cpu);
	ti_p = key_operand(c, c->regs->rbx, 512, 0);
	data_p = ti_p ? key_operand(c, c->regs->rcx, 128, 0) : NULL;
	out = data_p ? key_operand(c, c->regs->rdx, 512, X86_PF_WRITE) : NULL;
	if (!out) {
		sgx_epcm_read_unlock(cpu);
		return ENCLU_FAULTED;
	}
	memcpy(&ti, ti_p, sizeof(ti));
	secs = sgx_secs_page(cpu, c->secs);

	memset(&rep, 0, sizeof(rep));
	memcpy(rep.body.cpusvn, platform_cpusvn, sizeof(rep.body.cpusvn));
	rep.body.miscselect = secs->miscselect;
	rep.body.attributes.flags = secs->attributes;
	rep.body.attributes.xfrm = secs->xfrm;
	memcpy(rep.body.mrenclave, secs->mrenclave, sizeof(rep.body.mrenclave));
	memcpy(rep.body.mrsigner, secs->mrsigner, sizeof(rep.body.mrsigner));
	memcpy(rep.body.config_id, secs->config_id, sizeof(rep.body.config_id));
	rep.body.isv_prod_id = secs->isv_prod_id;
	rep.body.isv_svn = secs->isv_svn;
	rep.body.config_svn = secs->config_svn;
	memcpy(rep.body.report_data, data_p, sizeof(rep.body.report_data));
	report_keyid(cpu, rep.key_id);

	report_key(cpu, ti.measurement, ti.attributes.flags, ti.attributes.xfrm, ti.miscselect,
		   ti.config_id, ti.config_svn, rep.key_id, key);
	sgx_cmac(key, &rep.body, sizeof(rep.body), rep.mac);
	memset(key, 0, sizeof(key));
	/* 432 bytes: the rest of the 512-byte aligned output is not written. */
	memcpy(out, &rep, offsetof(struct sgx_report, mac) + sizeof(rep.mac));
	sgx_epcm_read_unlock(cpu);

	c->regs->rip += ENCLU_INSN_LEN;
	return 0;
}

static bool cpusvn_supported(const uint8_t req[16])
{
	/* CPUSVN is compared component-wise: no component above the platform's. */
	for (size_t i = 0; i < sizeof(platform_cpusvn); i++)
		if (req[i] > platform_cpusvn[i])
			return false;
	return true;
}

/* Masked attributes: INIT and DEBUG always count, as the SDM forces. */
static void masked_identity(struct keydep *dep, const struct sgx_secs *secs,
			    const struct sgx_keyrequest *kr)
{
	dep->attributes = (kr->attribute_mask.flags | SGX_ATTR_INIT | SGX_ATTR_DEBUG) &
			  secs->attributes;
	dep->xfrm = kr->attribute_mask.xfrm & secs->xfrm;
	dep->miscselect = kr->misc_mask & secs->miscselect;
	memcpy(dep->cpusvn, kr->cpusvn, sizeof(dep->cpusvn));
	dep->isv_svn = kr->isv_svn;
}

static bool keyrequest_reserved_clear(const struct sgx_keyrequest *kr)
{
	if (kr->reserved1)
		return false;
	for (size_t i = 0; i < sizeof(kr->reserved2); i++)
		if (kr->reserved2[i])
			return false;
	return true;
}

/*
 * Build the key dependencies of a request. Returns SGX_SUCCESS, an EGETKEY
 * status, or -1 for #GP(0).
 */
static int egetkey_deps(const struct sgx_cpu *cpu, const struct sgx_secs *secs,
			const struct sgx_keyrequest *kr, struct keydep *dep)
{
	const uint16_t kss_policies = SGX_KEYPOLICY_CONFIGID | SGX_KEYPOLICY_ISVFAMILYID |
				      SGX_KEYPOLICY_ISVEXTPRODID;
	bool kss = secs->attributes & SGX_ATTR_KSS;

	if (!keyrequest_reserved_clear(kr) || (kr->key_policy & ~SGX_KEYPOLICY_MASK) ||
	    ((kr->key_policy & kss_policies) && !kss))
		return -1;

	memset(dep, 0, sizeof(*dep));
	dep->key_name = kr->key_name;
	switch (kr->key_name) {
	case SGX_KEYNAME_REPORT:
		dep->attributes = secs->attributes;
		dep->xfrm = secs->xfrm;
		dep->miscselect = secs->miscselect;
		memcpy(dep->cpusvn, platform_cpusvn, sizeof(dep->cpusvn));
		memcpy(dep->mrenclave, secs->mrenclave, sizeof(dep->mrenclave));
		memcpy(dep->key_id, kr->key_id, sizeof(dep->key_id));
		if (kss) {
			memcpy(dep->config_id, secs->config_id, sizeof(dep->config_id));
			dep->config_svn = secs->config_svn;
		}
		return SGX_SUCCESS;
	case SGX_KEYNAME_SEAL:
		if (kr->isv_svn > secs->isv_svn || (kss && kr->config_svn > secs->config_svn))
			return SGX_INVALID_ISVSVN;
		if (!cpusvn_supported(kr->cpusvn))
			return SGX_INVALID_CPUSVN;
		masked_identity(dep, secs, kr);
		if (!(kr->key_policy & SGX_KEYPOLICY_NOISVPRODID))
			dep->isv_prod_id = secs->isv_prod_id;
		if (kr->key_policy & SGX_KEYPOLICY_MRENCLAVE)
			memcpy(dep->mrenclave, secs->mrenclave, sizeof(dep->mrenclave));
		if (kr->key_policy & SGX_KEYPOLICY_MRSIGNER)
			memcpy(dep->mrsigner, secs->mrsigner, sizeof(dep->mrsigner));
		if (kr->key_policy & SGX_KEYPOLICY_CONFIGID)
			memcpy(dep->config_id, secs->config_id, sizeof(dep->config_id));
		if (kss)
			dep->config_svn = kr->config_svn;
		memcpy(dep->key_id, kr->key_id, sizeof(dep->key_id));
		/* The policy itself is part of the identity of the key. */
		dep->key_policy = kr->key_policy;
		return SGX_SUCCESS;
	case SGX_KEYNAME_EINITTOKEN:
		if (!(secs->attributes & SGX_ATTR_EINITTOKENKEY))
			return SGX_INVALID_ATTRIBUTE;
		if (kr->isv_svn > secs->isv_svn)
			return SGX_INVALID_ISVSVN;
		if (!cpusvn_supported(kr->cpusvn))
			return SGX_INVALID_CPUSVN;
		masked_identity(dep, secs, kr);
		dep->isv_prod_id = secs->isv_prod_id;
		memcpy(dep->mrsigner, secs->mrsigner, sizeof(dep->mrsigner));
		memcpy(dep->key_id, kr->key_id, sizeof(dep->key_id));
		return SGX_SUCCESS;
	case SGX_KEYNAME_PROVISION:
	case SGX_KEYNAME_PROVISION_SEAL:
		if (!(secs->attributes & SGX_ATTR_PROVISIONKEY))
			return SGX_INVALID_ATTRIBUTE;
		if (kr->isv_svn > secs->isv_svn)
			return SGX_INVALID_ISVSVN;
		if (!cpusvn_supported(kr->cpusvn))
			return SGX_INVALID_CPUSVN;
		masked_identity(dep, secs, kr);
		dep->isv_prod_id = secs->isv_prod_id;
		memcpy(dep->mrsigner, secs->mrsigner, sizeof(dep->mrsigner));
		return SGX_SUCCESS;
	}
	return SGX_INVALID_KEYNAME;
}

int enclu_egetkey(struct enclu_call *c)
{
	struct sgx_cpu *cpu = c->cpu;
	const struct sgx_keyrequest *kr_p;
	struct sgx_keyrequest kr;
	struct keydep dep;
	uint8_t key[16];
	void *out;
	int status;

	sgx_epcm_read_lock(cpu);
	kr_p = key_operand(c, c->regs->rbx, 512, 0);
	out = kr_p ? key_operand(c, c->regs->rcx, 16, X86_PF_WRITE) : NULL;
	if (!out) {
		sgx_epcm_read_unlock(cpu);
		return ENCLU_FAULTED;
	}
	memcpy(&kr, kr_p, sizeof(kr));
	status = egetkey_deps(cpu, sgx_secs_page(cpu, c->secs), &kr, &dep);
	if (status < 0) {
		sgx_epcm_read_unlock(cpu);
		return enclu_gp(c->exc);
	}
	if (status == SGX_SUCCESS) {
		derive_key(cpu, &dep, key);
		memcpy(out, key, sizeof(key));
		memset(key, 0, sizeof(key));
	}
	sgx_epcm_read_unlock(cpu);
	memset(&dep, 0, sizeof(dep));

	enclu_set_status(c->regs, status);
	c->regs->rip += ENCLU_INSN_LEN;
	return 0;
}
