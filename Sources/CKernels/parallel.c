#include <pthread.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <stdatomic.h>
#include <unistd.h>
#include "ckernels.h"

/// A fixed pool of worker threads (one per core beyond the caller's), started on first use.
/// It replaces libdispatch's concurrentPerform in the runtime: libdispatch's Linux pool monitor
/// opens /proc/<tid>/stat every second while work is queued and traps when it cannot, which a
/// Landlock sandbox that keeps /proc out makes happen.

enum { max_workers = 63 };

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static pthread_cond_t done = PTHREAD_COND_INITIALIZER;
static pthread_once_t started = PTHREAD_ONCE_INIT;
static long workers = 0;

/// The job in progress (one at a time; a second caller runs its loop alone).
static ckernels_task job_task;
static void *job_context;
static long job_iterations;
static atomic_long job_next;
static long job_active;       // workers still in the job (under lock)
static unsigned long job_generation;
static atomic_int busy;

static _Thread_local int inside;  // this thread is running a pool job's iterations

static void run_iterations(void) {
  for (;;) {
    long i = atomic_fetch_add(&job_next, 1);
    if (i >= job_iterations) break;
    job_task(job_context, i);
  }
}

static void *worker(void *unused) {
  (void)unused;
  unsigned long seen = 0;
  inside = 1;
  pthread_mutex_lock(&lock);
  for (;;) {
    while (job_generation == seen) pthread_cond_wait(&wake, &lock);
    seen = job_generation;
    pthread_mutex_unlock(&lock);
    run_iterations();
    pthread_mutex_lock(&lock);
    if (--job_active == 0) pthread_cond_signal(&done);
  }
  return NULL;
}

static void start(void) {
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  long wanted = cores > 1 ? cores - 1 : 0;
  if (wanted > max_workers) wanted = max_workers;
  pthread_attr_t attributes;
  pthread_attr_init(&attributes);
  pthread_attr_setstacksize(&attributes, 1 << 20);
  for (long i = 0; i < wanted; i++) {
    pthread_t thread;
    if (pthread_create(&thread, &attributes, worker, NULL) != 0) break;
    pthread_detach(thread);
    workers++;
  }
  pthread_attr_destroy(&attributes);
}

void ckernels_parallel_for(long iterations, ckernels_task task, void *context) {
  if (iterations <= 0) return;
  int expected = 0;
  if (iterations == 1 || inside || !atomic_compare_exchange_strong(&busy, &expected, 1)) {
    // One iteration, a nested call, or the pool busy with another caller's job: run here.
    for (long i = 0; i < iterations; i++) task(context, i);
    return;
  }
  pthread_once(&started, start);
  if (workers == 0) {
    for (long i = 0; i < iterations; i++) task(context, i);
    atomic_store(&busy, 0);
    return;
  }
  pthread_mutex_lock(&lock);
  job_task = task;
  job_context = context;
  job_iterations = iterations;
  atomic_store(&job_next, 0);
  job_active = workers;
  job_generation++;
  pthread_cond_broadcast(&wake);
  pthread_mutex_unlock(&lock);
  inside = 1;
  run_iterations();
  inside = 0;
  pthread_mutex_lock(&lock);
  while (job_active > 0) pthread_cond_wait(&done, &lock);
  pthread_mutex_unlock(&lock);
  atomic_store(&busy, 0);
}

void ckernels_keep_freed_buffers(int keep) {
#if defined(__GLIBC__)
  // 32 MiB is glibc's ceiling for the mmap threshold on 64-bit systems; the heap gives back
  // free memory at its top only beyond 128 MiB. 128 KiB is glibc's initial threshold, fixed.
  mallopt(M_MMAP_THRESHOLD, keep ? 32 << 20 : 128 << 10);
  mallopt(M_TRIM_THRESHOLD, keep ? 128 << 20 : 128 << 10);
#else
  (void)keep;
#endif
}
