#define _GNU_SOURCE
#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>
#include "ckernels.h"

/// Large reads and copies are split into parts of this size, taken by the cores in turn: each
/// core copies, and first touches (the kernel zeroing the page for it), a share of the buffer.
enum { part_bytes = 1 << 20 };

typedef struct {
  int fd;
  const char *source;
  char *destination;
  size_t bytes;
  long long offset;
  atomic_int failure;  // 0, or the errno of the first part that failed (EIO for a short read)
} bulk_job;

static void bulk_part(void *context, long part) {
  bulk_job *job = context;
  const size_t start = (size_t)part * part_bytes;
  const size_t count = job->bytes - start < part_bytes ? job->bytes - start : part_bytes;
  if (job->source) {
    memcpy(job->destination + start, job->source + start, count);
    return;
  }
  size_t done = 0;
  while (done < count && atomic_load_explicit(&job->failure, memory_order_relaxed) == 0) {
    ssize_t got = pread(job->fd, job->destination + start + done, count - done, (off_t)(job->offset + (long long)(start + done)));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      int expected = 0;
      atomic_compare_exchange_strong(&job->failure, &expected, got < 0 ? errno : EIO);
      return;
    }
    done += (size_t)got;
  }
}

static int bulk_run(bulk_job *job) {
  const long parts = (long)((job->bytes + part_bytes - 1) / part_bytes);
  if (parts > 2) ckernels_parallel_for(parts, bulk_part, job);
  else for (long part = 0; part < parts; part++) bulk_part(job, part);
  return atomic_load(&job->failure);
}

int ckernels_parallel_pread(int fd, void *destination, size_t bytes, long long offset) {
  bulk_job job = {fd, NULL, destination, bytes, offset, 0};
  return bulk_run(&job);
}

void ckernels_parallel_copy(void *destination, const void *source, size_t bytes) {
  bulk_job job = {-1, source, destination, bytes, 0, 0};
  bulk_run(&job);
}
