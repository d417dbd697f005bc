// SPDX-License-Identifier: MIT
/*
 * Loading the enclave through the Linux driver's ABI (/dev/sgx_enclave):
 *
 *  1. reserve twice the enclave size of address space (PROT_NONE) and keep
 *     the naturally aligned middle: SECS.BASE must be a multiple of SIZE;
 *  2. SGX_IOC_ENCLAVE_CREATE with the SECS (ECREATE);
 *  3. SGX_IOC_ENCLAVE_ADD_PAGES per segment (EADD, + 16 EEXTENDs per page
 *     with SGX_PAGE_MEASURE) in the order the MRENCLAVE was computed;
 *  4. SGX_IOC_ENCLAVE_INIT with the SIGSTRUCT (EINIT); the driver reports
 *     an SGX error code of EINIT as -EPERM, a fault as -EIO;
 *  5. mmap(MAP_SHARED | MAP_FIXED) of each segment over the reservation,
 *     with the permissions it was added with (the driver refuses more).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "examples/bigheap.h"

const char *bh_step_name(enum bh_load_step step)
{
	switch (step) {
	case BH_STEP_OPEN: return "open /dev/sgx_enclave";
	case BH_STEP_RESERVE: return "reserve ELRANGE";
	case BH_STEP_CREATE: return "SGX_IOC_ENCLAVE_CREATE";
	case BH_STEP_ADD: return "SGX_IOC_ENCLAVE_ADD_PAGES";
	case BH_STEP_INIT: return "SGX_IOC_ENCLAVE_INIT";
	case BH_STEP_MMAP: return "mmap of the enclave";
	default: return "nothing";
	}
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int reserve_elrange(struct bh_enclave *e)
{
	uint64_t start, head, tail;
	void *area;

	e->reserve_size = e->size * 2;
	area = mmap(NULL, e->reserve_size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		    -1, 0);
	if (area == MAP_FAILED)
		return -errno;
	start = (uint64_t)(uintptr_t)area;
	e->base = (start + e->size - 1) & ~(e->size - 1);
	/* Give back what lies outside ELRANGE, so the reservation is ELRANGE. */
	head = e->base - start;
	tail = e->reserve_size - head - e->size;
	if (head)
		munmap(area, head);
	if (tail)
		munmap((void *)(uintptr_t)(e->base + e->size), tail);
	e->reserve = (void *)(uintptr_t)e->base;
	e->reserve_size = e->size;
	return 0;
}

static int create(struct bh_enclave *e)
{
	struct sgx_secs *secs = aligned_alloc(BH_PAGE_SIZE, sizeof(*secs));
	struct sgx_enclave_create arg;
	int ret = 0;

	if (!secs)
		return -ENOMEM;
	memset(secs, 0, sizeof(*secs));
	secs->base = e->base;
	secs->size = e->size;
	secs->ssa_frame_size = BH_SSA_FRAME_PAGES;
	secs->attributes = SGX_ATTR_MODE64BIT;
	secs->xfrm = BH_XFRM;
	arg.src = (uint64_t)(uintptr_t)secs;
	if (ioctl(e->fd, SGX_IOC_ENCLAVE_CREATE, &arg))
		ret = -errno;
	free(secs);
	return ret;
}

/*
 * One segment. The driver may stop early (a signal arrived): 'count' says
 * how far it got, and the rest is asked for again.
 */
static int add_segment(struct bh_enclave *e, const struct bh_segment *s)
{
	struct sgx_secinfo secinfo __attribute__((aligned(64))) = { .flags = s->secinfo_flags };
	uint64_t done = 0;

	while (done < s->size) {
		struct sgx_enclave_add_pages arg = {
			.src = (uint64_t)(uintptr_t)(s->src + done),
			.offset = s->offset + done,
			.length = s->size - done,
			.secinfo = (uint64_t)(uintptr_t)&secinfo,
			.flags = s->measure ? SGX_PAGE_MEASURE : 0,
		};
		int ret = ioctl(e->fd, SGX_IOC_ENCLAVE_ADD_PAGES, &arg);

		if (arg.count > arg.length || arg.count & (BH_PAGE_SIZE - 1))
			return -EIO;	/* a driver that answers nonsense */
		done += arg.count;
		e->pages_added += arg.count / BH_PAGE_SIZE;
		if (ret && !(errno == EINTR && arg.count == 0))
			return -errno;
		if (!ret && !arg.count)
			return -EIO;	/* no progress and no error: do not spin */
	}
	return 0;
}

static int map_segments(struct bh_enclave *e, const struct bh_image *img)
{
	for (unsigned int i = 0; i < img->nr_segs; i++) {
		const struct bh_segment *s = &img->seg[i];
		void *want = (void *)(uintptr_t)(e->base + s->offset);
		void *got = mmap(want, s->size, s->prot, MAP_SHARED | MAP_FIXED, e->fd, 0);

		if (got == MAP_FAILED)
			return -errno;
		if (got != want)
			return -EFAULT;
	}
	return 0;
}

int bh_enclave_load(struct bh_enclave *e, const struct bh_image *img,
		    const struct sgx_sigstruct *ss, enum bh_load_step *step)
{
	struct sgx_enclave_init init = { .sigstruct = (uint64_t)(uintptr_t)ss };
	double t0;
	int ret;

	memset(e, 0, sizeof(*e));
	e->fd = -1;
	e->size = img->config.encl_size;
	*step = BH_STEP_OPEN;
	e->fd = open("/dev/sgx_enclave", O_RDWR | O_CLOEXEC);
	if (e->fd < 0)
		return -errno;
	*step = BH_STEP_RESERVE;
	ret = reserve_elrange(e);
	if (ret)
		goto fail;
	*step = BH_STEP_CREATE;
	ret = create(e);
	if (ret)
		goto fail;
	*step = BH_STEP_ADD;
	t0 = now_ms();
	for (unsigned int i = 0; i < img->nr_segs && !ret; i++)
		ret = add_segment(e, &img->seg[i]);
	e->add_ms = now_ms() - t0;
	if (ret)
		goto fail;
	*step = BH_STEP_INIT;
	if (ioctl(e->fd, SGX_IOC_ENCLAVE_INIT, &init)) {
		ret = -errno;
		goto fail;
	}
	*step = BH_STEP_MMAP;
	ret = map_segments(e, img);
	if (ret)
		goto fail;
	*step = BH_STEP_NONE;
	return 0;
fail:
	bh_enclave_release(e);
	return ret;
}

void bh_enclave_release(struct bh_enclave *e)
{
	/* Unmapping ELRANGE drops the enclave's mappings; closing the fd, the enclave. */
	if (e->reserve)
		munmap(e->reserve, e->reserve_size);
	if (e->fd >= 0)
		close(e->fd);
	e->reserve = NULL;
	e->fd = -1;
}
