/* SPDX-License-Identifier: MIT */
/*
 * The EPC manager's public interface: create a platform (an emulated CPU plus
 * the Linux SGX driver's memory manager on top of it), open enclaves on it
 * (the kernel's open("/dev/sgx_enclave")) and drive them with the kernel's
 * ioctls, mmap/mprotect checks and faults.
 *
 * Every entry point returns 0 or -errno exactly as the kernel's file
 * operations do; ioctl arguments are pointers into the calling process, as
 * the kernel receives them (NULL gives -EFAULT).
 */
#ifndef SGXEMU_SGX_PLATFORM_H
#define SGXEMU_SGX_PLATFORM_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu/cpu.h"

struct sgx_platform;
struct sgx_encl;
struct sgx_epc_cg_tree;

/*
 * What the EPC cgroup controller does when a limit is lowered under the
 * usage and nothing below it is reclaimable (docs/CGROUPS.md, "Worker").
 */
enum sgx_epc_oom_policy {
	SGX_EPC_OOM_KILL,	/* v4/v5: the worker kills a victim enclave (default) */
	SGX_EPC_OOM_ENOMEM,	/* v6+: limits only refuse new charges */
};

/* What the host provides to the manager. Every hook is optional. */
struct sgx_platform_ops {
	/*
	 * Force 'lp' out of enclave mode (the kernel's IPI to a CPU that runs
	 * enclave code): the host signals the LP's thread, whose handler
	 * performs the AEX. Called with a CPU-internal lock held: only signal.
	 */
	void (*ipi)(void *arg, struct sgx_lp *lp);
	/* numa_node_id() of the calling thread; default: per-thread value, see below. */
	int (*current_node)(void *arg);
	/* signal_pending(current); default: per-thread flag, see below. */
	bool (*signal_pending)(void *arg);
	/*
	 * Optional: the OOM path has just killed an enclave (ELRANGE base/size,
	 * charged to the EPC cgroup at 'cgroup'), the kernel's pr_warn-level
	 * event an operator wants to see. Called from the cgroup worker with no
	 * manager lock held; only record or log.
	 */
	void (*oom_killed)(void *arg, uint64_t base, uint64_t size, const char *cgroup);
};

struct sgx_platform_config {
	/* Either an existing CPU (not owned) or NULL to create one from cpu_config. */
	struct sgx_cpu *cpu;
	struct sgx_cpu_config cpu_config;
	const struct sgx_platform_ops *ops;
	void *ops_arg;
	/*
	 * Tests only: sanitize synchronously in create and do not start ksgxd,
	 * so that reclaim happens only where a test asks for it.
	 */
	bool no_ksgxd;
	/*
	 * The EPC cgroup tree's OOM policy (default SGX_EPC_OOM_KILL). With
	 * no_ksgxd the tree's reclaim worker does not run either: queued work
	 * waits for sgx_epc_cgroup_run_queued() (tests drive it by hand).
	 */
	enum sgx_epc_oom_policy epc_oom_policy;
};

/* Defaults: a default CPU (sgx_cpu_default_config), ksgxd on, no hooks. */
void sgx_platform_default_config(struct sgx_platform_config *c);
/*
 * Enumerate the EPC through CPUID 0x12 and memremap, start ksgxd and wait
 * until it sanitized the EPC. 0, -ENODEV (no SGX1 / no EPC), -EINVAL, -ENOMEM.
 */
int sgx_platform_create(const struct sgx_platform_config *c, struct sgx_platform **out);
/* Stops ksgxd. Every enclave must have been released: returns -EBUSY otherwise. */
int sgx_platform_destroy(struct sgx_platform *p);
struct sgx_cpu *sgx_platform_cpu(struct sgx_platform *p);

/*
 * The platform's EPC cgroup tree (sgx/epc_cgroup.h: mkdir/rmdir, the misc.*
 * files). Its capacity is the total EPC; every EPC page is charged to a
 * cgroup of it and reclaimed through its per-cgroup LRUs.
 */
struct sgx_epc_cg_tree *sgx_platform_cgroups(struct sgx_platform *p);
/*
 * Move the calling "process" (embedded mode: the platform's one process)
 * into the cgroup at path ("/" = root, the default): enclaves opened from
 * now on are charged to it, and so are pages that sgx_alloc_epc_page()
 * takes outside any enclave. 0, -ENOENT, -EINVAL.
 */
int sgx_platform_set_current_cgroup(struct sgx_platform *p, const char *path);
/*
 * Charge this enclave to the cgroup at path instead of its opener's (a
 * daemon serving several client processes records each client's cgroup).
 * Only before SGX_IOC_ENCLAVE_CREATE: -EBUSY after; -ENOENT, -EINVAL.
 */
int sgx_encl_set_cgroup(struct sgx_encl *encl, const char *path);

/* Emulated per-thread state used by the default hooks. */
void sgx_platform_set_current_node(struct sgx_platform *p, int nid);	/* -1 = default */
void sgx_platform_set_signal_pending(struct sgx_platform *p, bool pending);

/* ---- The driver's file operations (driver.c) ---- */
/* open("/dev/sgx_enclave"): a new, empty enclave holding one reference. */
int sgx_open(struct sgx_platform *p, struct sgx_encl **out);
/* close(): drops the file's reference; the enclave dies with its last user. */
int sgx_release(struct sgx_encl *encl);
/* ioctl(): 0 or -errno; unknown commands -ENOTTY. */
long sgx_ioctl(struct sgx_encl *encl, unsigned int cmd, unsigned long arg);
/* open("/dev/sgx_provision"): an fd whose identity SGX_IOC_ENCLAVE_PROVISION checks. */
int sgx_provision_open(struct sgx_platform *p);

/* mmap() permission and placement checks; prot = PROT_*, flags = MAP_*. */
int sgx_mmap_check(struct sgx_encl *encl, unsigned long start, unsigned long len,
		   int prot, int flags);
/* mprotect() of an enclave mapping (the .mprotect VMA hook). */
int sgx_mprotect_check(struct sgx_encl *encl, unsigned long start, unsigned long len, int prot);

/*
 * Copy len bytes at addr (inside one page) out of / into the enclave page
 * (a debugger's view: no EPCM permission check), loading or augmenting it if
 * needed, under encl->lock so it cannot be evicted meanwhile. Marks the page
 * young. Process context: on -EBUSY it reclaims one batch itself and retries.
 */
int sgx_encl_access(struct sgx_encl *encl, unsigned long addr, void *buf, unsigned long len,
		    bool write);

/* ---- Enclave windows and faults (window.c, fault.c) ---- */

/* True when the platform could create its userfaultfd: sgx_mmap works. */
bool sgx_platform_has_windows(struct sgx_platform *p);

/*
 * mmap() of the enclave file: after sgx_mmap_check(), map the enclave's
 * memory at addr (MAP_SHARED, MAP_FIXED or an exact hint; [addr, addr+len)
 * inside ELRANGE of a created enclave) with protection prot, replacing
 * whatever was mapped there. Touching an evicted page loads it through the
 * fault path. The mapping holds the enclave file: sgx_release() while mapped
 * frees the enclave only at the last sgx_munmap(). 0 or -errno
 * (-EINVAL range/flags, -EACCES permissions, -ENODEV no windows, -ENOMEM).
 */
int sgx_mmap(struct sgx_encl *encl, unsigned long addr, unsigned long len, int prot, int flags);
/*
 * munmap()/mprotect() of a range of the calling address space that may hold
 * enclave windows (partly or not at all): windows are cut to the remaining
 * pieces; mprotect runs sgx_mprotect_check() for every enclave it touches
 * first. Then the real munmap/mprotect of the whole range. 0 or -errno.
 */
int sgx_munmap(struct sgx_platform *p, unsigned long addr, unsigned long len);
int sgx_mprotect(struct sgx_platform *p, unsigned long addr, unsigned long len, int prot);

enum sgx_fault_result {
	SGX_FAULT_RESOLVED,	/* the page is mapped: retry the access */
	SGX_FAULT_RETRY,	/* VM_FAULT_NOPAGE on -EBUSY: retry, it will fault again */
	SGX_FAULT_SIGBUS,	/* deliver SIGBUS */
	SGX_FAULT_NOT_MINE,	/* addr is in no window of this platform */
	/* sgx_window_fixup_prot() only: */
	SGX_FAULT_EPCM_VIOLATION,	/* the EPCM refuses the access: #PF with PF_SGX */
	SGX_FAULT_VMA_VIOLATION,	/* the mapping refuses it: an ordinary #PF (SIGSEGV) */
};

/*
 * The kernel's sgx_vma_fault() for a fault at addr in a window, in the
 * faulting thread (async-signal-safe, see fault.c).
 */
enum sgx_fault_result sgx_vma_fault(struct sgx_platform *p, unsigned long addr, bool is_write);

/*
 * A protection fault (SIGSEGV, SEGV_ACCERR) at addr in a window, for an
 * access of the given kind (write, instruction fetch, else read): window
 * pages carry the mapping's protection narrowed to the page's EPCM
 * permissions (TCS/TRIM pages: none), so the fault is either EPCM
 * enforcement or a stale narrowing after the enclave widened its EPCM with
 * EMODPE. This reads the real EPCM (loading the page if it was evicted
 * meanwhile; augmenting a hole of an initialized SGX2 enclave):
 *   SGX_FAULT_RESOLVED        the mapping and the EPCM allow it: the page was
 *                             widened, retry the access;
 *   SGX_FAULT_RETRY           transient (page being reclaimed): retry;
 *   SGX_FAULT_EPCM_VIOLATION  the mapping allows it, the EPCM (type,
 *                             permissions, PENDING/MODIFIED) does not:
 *                             report #PF with PF_SGX to the enclave;
 *   SGX_FAULT_VMA_VIOLATION   the mapping itself does not allow it;
 *   SGX_FAULT_SIGBUS          no enclave page there (and none can be added);
 *   SGX_FAULT_NOT_MINE        addr is in no window of this platform.
 * Async-signal-safe like sgx_vma_fault(); takes win_lock, so it must not be
 * called from inside sgx_mmap/sgx_munmap/sgx_mprotect.
 */
enum sgx_fault_result sgx_window_fixup_prot(struct sgx_platform *p, unsigned long addr,
					    bool write, bool exec);

/*
 * Install (once per process) a SIGBUS handler that resolves window faults
 * of p (and of every other platform so registered) and chains every other
 * SIGBUS to the disposition that was there before. 0 or -errno.
 */
int sgx_fault_install_sigbus_handler(struct sgx_platform *p);

/*
 * One line "<prefix><message>\n" to stderr with a single write(2), from any
 * context (signal handlers included): no stdio, no malloc. Conversions:
 * %d %i %u %x %ld %li %lu %lx %s %%.
 */
void sgx_log_safe(const char *prefix, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- Memory failure (A.8): poison the EPC page at emulated physical address. ---- */
int sgx_memory_failure(struct sgx_platform *p, uint64_t phys);

/* ---- Counters ---- */
struct sgx_node_stats {
	uint64_t total_pages;
	uint64_t free_pages;
	uint64_t poison_pages;
};

struct sgx_platform_stats {
	uint64_t total_pages;
	uint64_t free_pages;		/* the atomic count */
	uint64_t free_list_pages;	/* sum over the node free lists */
	uint64_t poison_pages;
	uint64_t active_pages;		/* reclaimable pages on the cgroups' LRUs */
	uint64_t used_pages;		/* handed out and not freed: free + used == total - poison */
	uint64_t nr_encls;
	uint64_t va_pages;
	uint64_t ewb, eldu, eaug, eadd, eremove, secs_ewb, secs_eldu;
	uint64_t faults;
	uint64_t ksgxd_passes, direct_reclaim_passes, pages_reclaimed;
	uint64_t direct_reclaim_ns;
	uint64_t not_tracked_ipis;
	uint64_t ewb_lost;
	uint64_t fault_retries, fault_sigbus, punches;
	uint64_t prot_fixups, epcm_violations;	/* sgx_window_fixup_prot() outcomes */
	uint64_t peak_used_pages;	/* most EPC pages in use at once since create */
	unsigned int nr_nodes;
	struct sgx_node_stats node[8];
};
void sgx_platform_get_stats(struct sgx_platform *p, struct sgx_platform_stats *out);

struct sgx_encl_stats {
	uint64_t resident_pages;	/* secs_child_cnt */
	uint64_t evicted_pages;
	uint64_t va_pages;
	bool secs_resident;
	uint64_t page_cnt;
	uint64_t ewb, eldu, eaug, faults;
};
void sgx_encl_get_stats(struct sgx_encl *encl, struct sgx_encl_stats *out);

/*
 * Who opened the enclave, for the monitor: a daemon records its client
 * process (pid, uid) when it opens the enclave for it, and pid 0 once the
 * client released its handle (the enclave may live on in mappings). Values,
 * not references: nothing dangles when the client goes.
 */
void sgx_encl_set_owner(struct sgx_encl *encl, int pid, long uid);

/* One enclave as sgx_platform_for_each_encl() saw it. */
#define SGX_ENCL_INFO_PATH_MAX	4096
struct sgx_encl_info {
	uint64_t id;			/* unique, increasing in list order (1, 2, ...) */
	int owner_pid;			/* 0: no owner / its file is gone */
	long owner_uid;			/* -1: unknown */
	char cgroup[SGX_ENCL_INFO_PATH_MAX];	/* the EPC cgroup it is charged to */
	uint64_t base, size;		/* ELRANGE; 0/0 before ECREATE */
	/* EPC pages in use: resident REG/TCS (secs_child_cnt) + SECS + VA. */
	uint64_t epc_pages;
	uint64_t resident_pages, va_pages;
	bool secs_resident;
	uint64_t swapped_pages;		/* contents in the backing store (SECS included) */
	uint64_t page_cnt;		/* enclave pages the manager tracks */
	bool created, initialized, debug;
	bool no_memory;			/* SGX_ENCL_NO_MEMORY: the OOM path killed it */
	bool sgx2;			/* the platform has SGX2: EAUG/EDMM apply to it */
	uint64_t ewb, eldu, eaug, faults;	/* the enclave's own counters */
};
/*
 * Call fn once per live enclave (in list order: increasing id) with a
 * snapshot of it. Locks: encl_list_lock only while taking a reference on
 * each listed enclave (enclaves already in release are skipped); each
 * enclave's lock while its counts, ELRANGE and cgroup are copied; none
 * while fn runs, so fn may block or allocate (not call back into this).
 * An enclave released meanwhile is still reported (it was alive at the
 * walk). 0, -ENOMEM.
 */
int sgx_platform_for_each_encl(struct sgx_platform *p,
			       void (*fn)(void *arg, const struct sgx_encl_info *info), void *arg);

/*
 * The leak check: no enclave, free + poisoned == capacity, every page on a
 * free or poison list, the atomic count equal to the lists, nothing on the
 * cgroups' LRUs or the dirty list, no VA page left, nothing charged to any
 * EPC cgroup. 0, or -1 with a reason in buf.
 */
int sgx_platform_check_idle(struct sgx_platform *p, char *buf, unsigned long len);
/* The count invariant alone (atomic count == sum of the free lists); usable any time. */
bool sgx_platform_free_count_consistent(struct sgx_platform *p);

/* ---- Windows of other address spaces (shared mode: the daemon) ---- */

/*
 * An address space served remotely: a program whose windows map the
 * enclave's memfd themselves (sgx_encl_window_memfd()) and are registered on
 * the program's own userfaultfd (MISSING|WP), which it handed over. The
 * manager never maps or mprotects pages of such an mm (window protection is
 * the program's business); it zaps and unprotects through the uffd, punches
 * and truncates the memfd, and resolves faults the program reports.
 */
struct sgx_mm;
/* Takes ownership of uffd (closed by sgx_mm_destroy). 0, -EINVAL, -ENOMEM. */
int sgx_mm_create(struct sgx_platform *p, int uffd, struct sgx_mm **out);
/* The process is gone: drop every window of mm, close its uffd, free it. */
void sgx_mm_destroy(struct sgx_mm *mm);
/* After sgx_mmap_check(): record a window of mm (replacing mm's windows in the range). */
int sgx_mmap_mm(struct sgx_encl *encl, struct sgx_mm *mm, unsigned long addr, unsigned long len,
		int prot, int flags);
int sgx_munmap_mm(struct sgx_mm *mm, unsigned long addr, unsigned long len);
/* sgx_mprotect_check() of every enclave window touched, then the windows take prot. */
int sgx_mprotect_mm(struct sgx_mm *mm, unsigned long addr, unsigned long len, int prot);
/* sgx_vma_fault() for a window of mm. */
enum sgx_fault_result sgx_vma_fault_mm(struct sgx_mm *mm, unsigned long addr, bool is_write);
/*
 * The SECS (EPC address) of the enclave mapped at addr in mm, or NULL: the
 * LP resolver of the program's threads (sgx_lp_set_resolver()). Lock-free.
 */
void *sgx_mm_secs_at(struct sgx_mm *mm, unsigned long addr);
/*
 * The enclave's window memfd (not dup'ed: valid while the enclave lives) and
 * its ELRANGE. -EINVAL before ECREATE, -ENODEV without windows.
 */
int sgx_encl_window_memfd(struct sgx_encl *encl, int *fd, uint64_t *base, uint64_t *size);

#endif /* SGXEMU_SGX_PLATFORM_H */
