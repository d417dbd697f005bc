/* SPDX-License-Identifier: MIT */
/*
 * The LD_PRELOAD shim (libsgxemu-preload.so), internals shared by its files:
 *
 *   preload.c       constructor/destructor, configuration from the
 *                   environment, the platform (created on first use, again
 *                   in a fork child), the fd table, the --stats report
 *   preload_io.c    open/openat/close/dup/ioctl/stat of the device paths
 *   preload_mm.c    mmap/munmap/mprotect/mremap, the per-page protection of
 *                   enclave windows and enclave mode's fixup hook
 *   preload_sig.c   sigaction/signal/sigaltstack, the chain to the
 *                   program's handlers, CPUID traps, getauxval
 *
 * A preloaded library is entered from the program through libc symbols and
 * from signal handlers, neither of which carries an argument, so the shim's
 * state hangs off one process-wide pointer (struct shim, see shim_get()),
 * like the installed enclave_mode of host/enclave_mode.c.
 *
 * Library code linked into the shim (sgx/, host/) calls mmap, munmap,
 * mprotect, ioctl, close and sigaction itself; those calls resolve to the
 * shim's own definitions. A thread-local depth (shim_enter/shim_leave) marks
 * "inside the shim": the interposers then pass straight to the kernel.
 */
#ifndef SGXEMU_HOST_PRELOAD_H
#define SGXEMU_HOST_PRELOAD_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "cpu/cpu.h"
#include "host/cpuid_patch.h"
#include "host/enclave_mode.h"
#include "sgx/platform.h"

#define SHIM_MAX_FDS		4096	/* device fds must be below this */
#define SHIM_MAX_ENCLS		256	/* enclaves open at once in one process */
#define SHIM_MAX_SIG		64

/* Per-page protection bytes (struct shim_encl::vma, ::cur): PROT_* plus this. */
#define SHIM_PAGE_MAPPED	0x80

enum shim_file_kind {
	SHIM_FILE_ENCLAVE = 1,
	SHIM_FILE_PROVISION,
};

/*
 * One enclave as the shim sees it: the EPC manager's struct sgx_encl plus
 * what the kernel keeps in VMAs and page tables and the manager does not
 * expose: the program's protection of every page of ELRANGE (its VMA) and
 * what the host mapping has now (PTE = VMA ∩ what the EPCM allows, as far as
 * the shim knows; see preload_mm.c).
 */
struct shim_encl {
	struct sgx_encl *encl;
	atomic_int fds;			/* open fds naming it (dup counts) */
	atomic_ulong mapped_pages;	/* pages with SHIM_PAGE_MAPPED */
	atomic_ulong base, size;	/* ELRANGE, once SGX_IOC_ENCLAVE_CREATE succeeded */
	uint8_t *vma;			/* per page of ELRANGE (NULL before CREATE) */
	uint8_t *cur;
	uint8_t *epcm;			/* per page: EPCM permissions as last known (R|W|X) */
	bool released;			/* sgx_release() done (no fd left) */
	bool inherited;			/* belongs to the parent of a fork: unusable */
	unsigned int slot;
	/* Shared mode (encl == NULL): the daemon's handle, its window memfd (-1: not yet). */
	uint32_t handle;
	int memfd;
};

/* An fd the program holds on a device. */
struct shim_file {
	enum shim_file_kind kind;
	struct shim_encl *se;		/* SHIM_FILE_ENCLAVE */
};

struct shim_encl_slot {
	_Atomic(struct shim_encl *) se;
	atomic_int users;		/* pins of the fault path */
};

struct shim {
	pid_t pid;			/* the process the platform belongs to */
	struct sgx_cpu_config config;
	const char *stats_path;		/* SGXEMU_STATS, or NULL */

	pthread_mutex_t lock;		/* platform creation, fd table writes, enclave slots */
	struct sgx_cpu *cpu;
	struct sgx_platform *platform;	/* NULL until the first open of a device */
	struct enclave_mode *em;
	struct cpuid_sites cpuid_sites;
	int cpuid_patched;		/* sites patched, or -errno */
	int dead_fd;			/* empty memfd: mappings that fault with SIGBUS */

	_Atomic(struct shim_file *) fds[SHIM_MAX_FDS];
	struct shim_encl_slot encls[SHIM_MAX_ENCLS];

	/* What the program believes is installed for each signal (preload_sig.c). */
	pthread_mutex_t sig_lock;
	struct sigaction prog_act[SHIM_MAX_SIG + 1];
	uint64_t caught;		/* signals enclave mode wraps for the program */

	/* --stats */
	atomic_ulong encls_created;
	bool debug;			/* SGXEMU_DEBUG: diagnostics on stderr */

	/*
	 * Shared mode (SGXEMU_SHARED=<socket>): enclaves on the daemon's
	 * platform (preload_shared.c); platform stays NULL. sh is set (under
	 * lock) once the process connection is up, cleared in a fork child.
	 */
	const char *shared_path;	/* NULL: embedded mode */
	const char *shared_cgroup;	/* SGXEMU_CGROUP, or NULL (own cgroup) */
	struct shim_shared *_Atomic sh;
};

struct shim_shared;

/* Enclaves can exist: the embedded platform or the daemon's connection is up. */
static inline bool shim_active(const struct shim *s)
{
	return s->platform || s->sh;
}

/* The shim, or NULL before the constructor ran (or if it failed). */
struct shim *shim_get(void);

/* Inside-the-shim depth of the calling thread (see the top of this file). */
void shim_enter(void);
void shim_leave(void);
bool shim_inside(void);

/* Create the platform if needed (normal context). 0 or -errno. */
int shim_platform(struct shim *s);

/* fd table. */
struct shim_file *shim_fd_get(struct shim *s, int fd);
int shim_fd_set(struct shim *s, int fd, struct shim_file *f);	/* 0 or -EMFILE */
struct shim_file *shim_fd_take(struct shim *s, int fd);

/* Enclave objects (preload_mm.c). */
struct shim_encl *shim_encl_new(struct shim *s, struct sgx_encl *encl);
int shim_encl_created(struct shim *s, struct shim_encl *se, uint64_t base, uint64_t size);
/* The last fd was closed: release the file, free the object once nothing is mapped. */
void shim_encl_fd_closed(struct shim *s, struct shim_encl *se);
/* The enclave mapped at addr (pinned: shim_encl_unpin), or NULL. Async-signal-safe. */
struct shim_encl *shim_encl_at(struct shim *s, uint64_t addr);
void shim_encl_unpin(struct shim *s, struct shim_encl *se);
/*
 * After an ioctl changed the EPCM permissions of [addr, addr + len): they
 * are now 'perm' (set: ADD_PAGES) or at most 'perm' (EMODPR, EMODT, EREMOVE).
 */
void shim_encl_epcm_changed(struct shim *s, struct shim_encl *se, uint64_t addr, uint64_t len,
			    unsigned int perm, bool set);
/* enclave_mode_ops: fixup (inside, non-blocking) and fixup_after_aex (may block). */
bool shim_fixup(void *arg, uint64_t addr, uint32_t error_code);
bool shim_fixup_after_aex(void *arg, uint64_t addr, uint32_t error_code);
/* The platform's fault path for a window page (signal context). */
enum sgx_fault_result shim_vma_fault(struct shim *s, uint64_t addr, bool is_write);
/* SIGBUS outside enclave mode: a window fault? true if resolved (retry). */
bool shim_window_fault(struct shim *s, uint64_t addr, bool is_write);
/* The child of a fork: the parent's windows become inaccessible. */
void shim_mm_after_fork(struct shim *s);

/*
 * Shared mode (preload_shared.c). Program calls run in normal context and
 * return 0 or -errno; shim_shared_fault and the LP ops run in signal
 * handlers on the calling thread's own connection.
 */
int shim_shared_start(struct shim *s);		/* s->lock held */
int shim_shared_open(struct shim *s, struct shim_encl **out);
int shim_shared_provision_open(struct shim *s);	/* an fd or -errno */
void shim_shared_release(struct shim *s, struct shim_encl *se);
long shim_shared_ioctl(struct shim *s, struct shim_encl *se, unsigned long cmd,
		       unsigned long arg);
int shim_shared_mmap(struct shim *s, struct shim_encl *se, uint64_t addr, uint64_t len, int prot,
		     int flags, bool *window);
int shim_shared_munmap(struct shim *s, uint64_t addr, uint64_t len, bool local);
int shim_shared_mprotect(struct shim *s, uint64_t addr, uint64_t len, int prot);
enum sgx_fault_result shim_shared_fault(struct shim *s, uint64_t addr, bool is_write);
const struct enclave_mode_lp_ops *shim_shared_lp_ops(struct shim *s);
void shim_shared_after_fork(struct shim *s);	/* the child, from the atfork hook */
void shim_shared_print_stats(struct shim *s, FILE *f);

/* Signals (preload_sig.c). */
int shim_sig_init(struct shim *s);	/* before enclave_mode_install */
bool shim_cpuid_emulate(void *arg, uint32_t leaf, uint32_t subleaf, uint32_t regs[4]);

/* The kernel's calls, bypassing every interposer. */
void *shim_sys_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
int shim_sys_munmap(void *addr, size_t len);
int shim_sys_mprotect(void *addr, size_t len, int prot);
int shim_sys_close(int fd);
int shim_sys_sigaction(int sig, const struct sigaction *act, struct sigaction *old);

#endif /* SGXEMU_HOST_PRELOAD_H */
