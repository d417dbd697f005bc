// SPDX-License-Identifier: MIT
/*
 * The device files: open/openat (every glibc entry point a program may be
 * compiled to call), close, dup/dup2/dup3, ioctl, and the stat family on
 * /dev/sgx_enclave and /dev/sgx_provision. Everything else goes straight to
 * the kernel (as a raw syscall, so no other preloaded library is skipped
 * for a path that is not ours... except that one: see docs/SHIM.md).
 *
 * The fd the program gets is a real fd (/dev/null opened with the
 * program's O_CLOEXEC), so that close, dup, fcntl, poll and exec behave;
 * the fd table maps it to the enclave. fstat/stat report a character
 * device (misc major 10) as the kernel does.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "host/preload.h"
#include "uapi/asm/sgx.h"

#define SHIM_MISC_MAJOR		10
#define SHIM_ENCLAVE_MINOR	125
#define SHIM_PROVISION_MINOR	126

static enum shim_file_kind device_of(const char *path)
{
	if (!path)
		return 0;
	if (!strcmp(path, "/dev/sgx_enclave") || !strcmp(path, "/dev/sgx/enclave"))
		return SHIM_FILE_ENCLAVE;
	if (!strcmp(path, "/dev/sgx_provision") || !strcmp(path, "/dev/sgx/provision"))
		return SHIM_FILE_PROVISION;
	return 0;
}

static int fail(int err)
{
	errno = err;
	return -1;
}

/* ------------------------------------------------------------------------
 * open
 */

static int open_device(struct shim *s, enum shim_file_kind kind, int flags)
{
	struct shim_file *f;
	struct sgx_encl *encl;
	int fd, ret;

	ret = shim_platform(s);
	if (ret)
		return fail(ret == -EINVAL ? ENODEV : -ret);
	f = calloc(1, sizeof(*f));
	if (!f)
		return fail(ENOMEM);
	f->kind = kind;
	shim_enter();
	if (kind == SHIM_FILE_PROVISION) {
		/*
		 * The platform's provision file, whose identity PROVISION checks:
		 * in shared mode the daemon's (it passes the fd, or refuses as
		 * the kernel's root-only node would: EACCES).
		 */
		fd = s->platform ? sgx_provision_open(s->platform) : shim_shared_provision_open(s);
		if (fd >= 0 && !(flags & O_CLOEXEC))
			fcntl(fd, F_SETFD, 0);
	} else {
		fd = (int)syscall(SYS_openat, AT_FDCWD, "/dev/null",
				  O_RDWR | (flags & O_CLOEXEC));
		if (fd < 0)
			fd = -errno;
	}
	if (fd < 0) {
		shim_leave();
		free(f);
		return fail(-fd);
	}
	if (kind == SHIM_FILE_ENCLAVE && !s->platform) {
		ret = shim_shared_open(s, &f->se);
		if (ret) {
			shim_leave();
			shim_sys_close(fd);
			free(f);
			return fail(-ret);
		}
	} else if (kind == SHIM_FILE_ENCLAVE) {
		ret = sgx_open(s->platform, &encl);
		if (!ret) {
			f->se = shim_encl_new(s, encl);
			if (!f->se) {
				sgx_release(encl);
				ret = -ENOMEM;
			}
		}
		if (ret) {
			shim_leave();
			shim_sys_close(fd);
			free(f);
			return fail(-ret);
		}
	}
	shim_leave();
	if (shim_fd_set(s, fd, f)) {
		if (f->se)
			shim_encl_fd_closed(s, f->se);
		shim_sys_close(fd);
		free(f);
		return fail(EMFILE);
	}
	return fd;
}

static int do_openat(int dirfd, const char *path, int flags, mode_t mode)
{
	struct shim *s = shim_get();
	enum shim_file_kind kind = device_of(path);

	if (s && kind && !shim_inside())
		return open_device(s, kind, flags);
	return (int)syscall(SYS_openat, dirfd, path, flags, mode);
}

/* The mode argument exists only with O_CREAT or O_TMPFILE. */
#define OPEN_MODE(flags, last)                                                 \
	({                                                                     \
		mode_t m_ = 0;                                                 \
		if ((flags) & (O_CREAT | __O_TMPFILE)) {                       \
			va_list ap_;                                           \
			va_start(ap_, last);                                   \
			m_ = (mode_t)va_arg(ap_, int);                         \
			va_end(ap_);                                           \
		}                                                              \
		m_;                                                            \
	})

int open(const char *path, int flags, ...)
{
	return do_openat(AT_FDCWD, path, flags, OPEN_MODE(flags, flags));
}

int open64(const char *path, int flags, ...)
{
	return do_openat(AT_FDCWD, path, flags, OPEN_MODE(flags, flags));
}

int openat(int dirfd, const char *path, int flags, ...)
{
	return do_openat(dirfd, path, flags, OPEN_MODE(flags, flags));
}

int openat64(int dirfd, const char *path, int flags, ...)
{
	return do_openat(dirfd, path, flags, OPEN_MODE(flags, flags));
}

/* _FORTIFY_SOURCE entry points. */
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);

int __open_2(const char *path, int flags)
{
	return do_openat(AT_FDCWD, path, flags, 0);
}

int __open64_2(const char *path, int flags)
{
	return do_openat(AT_FDCWD, path, flags, 0);
}

int __openat_2(int dirfd, const char *path, int flags)
{
	return do_openat(dirfd, path, flags, 0);
}

int __openat64_2(int dirfd, const char *path, int flags)
{
	return do_openat(dirfd, path, flags, 0);
}

/* ------------------------------------------------------------------------
 * close / dup
 */

static void drop_file(struct shim *s, struct shim_file *f)
{
	if (f->kind == SHIM_FILE_ENCLAVE && atomic_fetch_sub(&f->se->fds, 1) == 1)
		shim_encl_fd_closed(s, f->se);
	free(f);
}

int close(int fd)
{
	struct shim *s = shim_get();
	struct shim_file *f = NULL;

	if (s && !shim_inside())
		f = shim_fd_take(s, fd);
	if (f) {
		shim_enter();
		drop_file(s, f);
		shim_leave();
	}
	return shim_sys_close(fd) ? -1 : 0;
}

/* newfd now names what oldfd names (after a successful dup*). */
static void dup_file(struct shim *s, int oldfd, int newfd)
{
	struct shim_file *f = shim_fd_get(s, oldfd), *g;

	if (!f)
		return;
	g = calloc(1, sizeof(*g));
	if (!g)
		return;		/* the new fd is then an ordinary /dev/null */
	*g = *f;
	if (g->se)
		atomic_fetch_add(&g->se->fds, 1);
	if (shim_fd_set(s, newfd, g)) {
		if (g->se)
			atomic_fetch_sub(&g->se->fds, 1);
		free(g);
	}
}

/* The kernel closes newfd first if it was open: so does the table. */
static void replaced(struct shim *s, int newfd)
{
	struct shim_file *f = shim_fd_take(s, newfd);

	if (f) {
		shim_enter();
		drop_file(s, f);
		shim_leave();
	}
}

int dup(int oldfd)
{
	struct shim *s = shim_get();
	int fd = (int)syscall(SYS_dup, oldfd);

	if (fd >= 0 && s && !shim_inside())
		dup_file(s, oldfd, fd);
	return fd;
}

int dup3(int oldfd, int newfd, int flags)
{
	struct shim *s = shim_get();
	int fd;

	if (s && !shim_inside() && oldfd != newfd && fcntl(oldfd, F_GETFD) >= 0)
		replaced(s, newfd);
	fd = (int)syscall(SYS_dup3, oldfd, newfd, flags);
	if (fd >= 0 && s && !shim_inside())
		dup_file(s, oldfd, fd);
	return fd;
}

int dup2(int oldfd, int newfd)
{
	if (oldfd == newfd)
		return fcntl(oldfd, F_GETFD) < 0 ? -1 : newfd;
	return dup3(oldfd, newfd, 0);
}

/* ------------------------------------------------------------------------
 * ioctl
 */

/*
 * Read the program's memory without trusting it (the kernel's
 * copy_from_user): a bad pointer is an error, never a crash.
 */
static bool copy_from_user(void *dst, unsigned long src, size_t len)
{
	struct iovec local = { .iov_base = dst, .iov_len = len };
	struct iovec remote = { .iov_base = (void *)src, .iov_len = len };

	return syscall(SYS_process_vm_readv, getpid(), &local, 1UL, &remote, 1UL, 0UL) ==
	       (long)len;
}

/* What an ioctl changed that the shim must mirror (window protection, stats). */
static void after_ioctl(struct shim *s, struct shim_encl *se, unsigned long cmd,
			unsigned long arg, long ret)
{
	uint64_t base = atomic_load(&se->base);

	switch (cmd) {
	case SGX_IOC_ENCLAVE_CREATE: {
		struct sgx_enclave_create c;
		struct sgx_secs secs;

		if (!ret && copy_from_user(&c, arg, sizeof(c)) &&
		    copy_from_user(&secs, c.src, 16)) {
			atomic_fetch_add(&s->encls_created, 1);
			shim_encl_created(s, se, secs.base, secs.size);
		}
		break;
	}
	case SGX_IOC_ENCLAVE_ADD_PAGES: {
		/* The SECINFO's permissions (a TCS has none the enclave can use). */
		struct sgx_enclave_add_pages a;
		uint64_t flags;

		if (base && copy_from_user(&a, arg, sizeof(a)) && a.count &&
		    copy_from_user(&flags, a.secinfo, sizeof(flags)))
			shim_encl_epcm_changed(s, se, base + a.offset, a.count,
					       ((flags >> 8) & 0xff) == SGX_PAGE_TYPE_TCS ? 0 :
					       (unsigned int)flags & 7, true);
		break;
	}
	case SGX_IOC_ENCLAVE_RESTRICT_PERMISSIONS: {
		struct sgx_enclave_restrict_permissions r;

		if (base && copy_from_user(&r, arg, sizeof(r)) && r.count)
			shim_encl_epcm_changed(s, se, base + r.offset, r.count,
					       (unsigned int)r.permissions & 7, false);
		break;
	}
	case SGX_IOC_ENCLAVE_MODIFY_TYPES: {
		/* TCS or TRIM: the EPCM refuses every access until EACCEPT. */
		struct sgx_enclave_modify_types m;

		if (base && copy_from_user(&m, arg, sizeof(m)) && m.count)
			shim_encl_epcm_changed(s, se, base + m.offset, m.count, 0, false);
		break;
	}
	case SGX_IOC_ENCLAVE_REMOVE_PAGES: {
		/* Gone: a later access EAUGs a new page; the fixup widens then. */
		struct sgx_enclave_remove_pages r;

		if (base && copy_from_user(&r, arg, sizeof(r)) && r.count)
			shim_encl_epcm_changed(s, se, base + r.offset, r.count, 0, false);
		break;
	}
	}
}

int ioctl(int fd, unsigned long cmd, ...)
{
	struct shim *s = shim_get();
	struct shim_file *f = NULL;
	unsigned long arg;
	va_list ap;
	long ret;

	va_start(ap, cmd);
	arg = va_arg(ap, unsigned long);
	va_end(ap);
	if (s && !shim_inside())
		f = shim_fd_get(s, fd);
	if (!f)
		return (int)syscall(SYS_ioctl, fd, cmd, arg);
	if (f->kind != SHIM_FILE_ENCLAVE)
		return fail(ENOTTY);	/* sgx_provision has no ioctl */
	if (f->se->inherited)
		return fail(EIO);
	shim_enter();
	if (f->se->encl)
		ret = sgx_ioctl(f->se->encl, (unsigned int)cmd, arg);
	else
		ret = shim_shared_ioctl(s, f->se, cmd, arg);
	after_ioctl(s, f->se, cmd, arg, ret);
	shim_leave();
	if (ret < 0)
		return fail((int)-ret);
	return (int)ret;
}

/* ------------------------------------------------------------------------
 * stat family
 */

static void device_stat(enum shim_file_kind kind, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_dev = makedev(0, 5);
	st->st_ino = kind == SHIM_FILE_ENCLAVE ? 0x5358 : 0x5359;
	st->st_mode = S_IFCHR | 0666;
	st->st_nlink = 1;
	st->st_rdev = makedev(SHIM_MISC_MAJOR, kind == SHIM_FILE_ENCLAVE ? SHIM_ENCLAVE_MINOR :
			      SHIM_PROVISION_MINOR);
	st->st_blksize = 4096;
}

static int do_fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
	struct shim *s = shim_get();
	enum shim_file_kind kind = device_of(path);
	struct shim_file *f;

	if (s && !shim_inside()) {
		if (kind) {
			device_stat(kind, st);
			return 0;
		}
		if (path && !*path && (flags & AT_EMPTY_PATH) && (f = shim_fd_get(s, dirfd))) {
			device_stat(f->kind, st);
			return 0;
		}
	}
	return (int)syscall(SYS_newfstatat, dirfd, path, st, flags);
}

static int do_fstat(int fd, struct stat *st)
{
	struct shim *s = shim_get();
	struct shim_file *f = s && !shim_inside() ? shim_fd_get(s, fd) : NULL;

	if (f) {
		device_stat(f->kind, st);
		return 0;
	}
	return (int)syscall(SYS_fstat, fd, st);
}

int stat(const char *path, struct stat *st)
{
	return do_fstatat(AT_FDCWD, path, st, 0);
}

int stat64(const char *path, struct stat64 *st)
{
	return do_fstatat(AT_FDCWD, path, (struct stat *)st, 0);
}

int lstat(const char *path, struct stat *st)
{
	return do_fstatat(AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW);
}

int lstat64(const char *path, struct stat64 *st)
{
	return do_fstatat(AT_FDCWD, path, (struct stat *)st, AT_SYMLINK_NOFOLLOW);
}

int fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
	return do_fstatat(dirfd, path, st, flags);
}

int fstatat64(int dirfd, const char *path, struct stat64 *st, int flags)
{
	return do_fstatat(dirfd, path, (struct stat *)st, flags);
}

int fstat(int fd, struct stat *st)
{
	return do_fstat(fd, st);
}

int fstat64(int fd, struct stat64 *st)
{
	return do_fstat(fd, (struct stat *)st);
}

/* Programs built against glibc < 2.33 call these. */
int __xstat(int ver, const char *path, struct stat *st);
int __xstat64(int ver, const char *path, struct stat64 *st);
int __lxstat(int ver, const char *path, struct stat *st);
int __lxstat64(int ver, const char *path, struct stat64 *st);
int __fxstat(int ver, int fd, struct stat *st);
int __fxstat64(int ver, int fd, struct stat64 *st);
int __fxstatat(int ver, int dirfd, const char *path, struct stat *st, int flags);
int __fxstatat64(int ver, int dirfd, const char *path, struct stat64 *st, int flags);

int __xstat(int ver, const char *path, struct stat *st)
{
	return do_fstatat(AT_FDCWD, path, st, 0);
}

int __xstat64(int ver, const char *path, struct stat64 *st)
{
	return do_fstatat(AT_FDCWD, path, (struct stat *)st, 0);
}

int __lxstat(int ver, const char *path, struct stat *st)
{
	return do_fstatat(AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW);
}

int __lxstat64(int ver, const char *path, struct stat64 *st)
{
	return do_fstatat(AT_FDCWD, path, (struct stat *)st, AT_SYMLINK_NOFOLLOW);
}

int __fxstat(int ver, int fd, struct stat *st)
{
	return do_fstat(fd, st);
}

int __fxstat64(int ver, int fd, struct stat64 *st)
{
	return do_fstat(fd, (struct stat *)st);
}

int __fxstatat(int ver, int dirfd, const char *path, struct stat *st, int flags)
{
	return do_fstatat(dirfd, path, st, flags);
}

int __fxstatat64(int ver, int dirfd, const char *path, struct stat64 *st, int flags)
{
	return do_fstatat(dirfd, path, (struct stat *)st, flags);
}

int statx(int dirfd, const char *path, int flags, unsigned int mask, struct statx *stx)
{
	struct shim *s = shim_get();
	enum shim_file_kind kind = device_of(path);
	struct shim_file *f = NULL;

	if (s && !shim_inside() && !kind && !*path && (flags & AT_EMPTY_PATH))
		f = shim_fd_get(s, dirfd);
	if (s && !shim_inside() && (kind || f)) {
		struct stat st;

		device_stat(kind ? kind : f->kind, &st);
		memset(stx, 0, sizeof(*stx));
		stx->stx_mask = STATX_BASIC_STATS;
		stx->stx_mode = (uint16_t)st.st_mode;
		stx->stx_nlink = 1;
		stx->stx_ino = st.st_ino;
		stx->stx_blksize = 4096;
		stx->stx_rdev_major = major(st.st_rdev);
		stx->stx_rdev_minor = minor(st.st_rdev);
		stx->stx_dev_minor = 5;
		return 0;
	}
	return (int)syscall(SYS_statx, dirfd, path, flags, mask, stx);
}

int access(const char *path, int mode)
{
	if (shim_get() && !shim_inside() && device_of(path))
		return (mode & X_OK) ? fail(EACCES) : 0;
	return (int)syscall(SYS_faccessat, AT_FDCWD, path, mode);
}
