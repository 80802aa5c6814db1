#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>
#include "ckernels.h"

/// A fixed pool of worker threads (one per core beyond the caller's), started on first use.
/// It replaces libdispatch's concurrentPerform in the runtime: libdispatch's Linux pool monitor
/// opens /proc/<tid>/stat every second while work is queued and traps when it cannot, which a
/// Landlock sandbox that keeps /proc out makes happen.

///
/// Handing work over is spin-then-block, as OpenMP runtimes do: a worker that has finished a
/// job watches for the next one for a short while before it sleeps on the condition variable,
/// and the caller watches for the workers' end of a job before it sleeps. A convolution network
/// runs hundreds of parallel loops per forward pass, tens of microseconds each; waking a
/// sleeping thread costs a futex call and a trip through the scheduler, which on a virtual
/// machine can take as long as the loop. The spin is bounded, so an idle pool sleeps.

enum { max_workers = 63 };

/// How long a worker watches for the next job, and the caller for the end of its job, before
/// sleeping: long enough to span the gap between two layers' loops, short enough that an idle
/// process stops using the cores at once.
static const long spin_nanoseconds = 100 * 1000;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static pthread_cond_t done = PTHREAD_COND_INITIALIZER;
static pthread_once_t started = PTHREAD_ONCE_INIT;
static long workers = 0;

/// The job in progress (one at a time; a second caller runs its loop alone). Its fields are
/// written before `job_generation` is advanced and read after it is seen advanced.
static ckernels_task job_task;
static void *job_context;
static long job_iterations;
static atomic_long job_next;
static atomic_long job_active;           // workers still in the job
static atomic_ulong job_generation;
static atomic_int busy;
/// Threads asleep (or about to sleep) on `wake` / on `done`: whoever ends a wait signals the
/// condition only when someone sleeps on it. Set and tested with sequentially consistent
/// atomics on both sides, and slept on under the lock, so no wake-up is lost.
static atomic_long sleeping_workers;
static atomic_int caller_sleeping;

static _Thread_local int inside;  // this thread is running a pool job's iterations

static inline void relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

static long elapsed_nanoseconds(const struct timespec *since) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (now.tv_sec - since->tv_sec) * 1000000000L + (now.tv_nsec - since->tv_nsec);
}

/// Spins until `done(argument)` or the spin time is up; whether it became true.
static int spin_until(int (*done)(const void *), const void *argument) {
  struct timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (;;) {
    for (int i = 0; i < 64; i++) {
      if (done(argument)) return 1;
      relax();
    }
    if (elapsed_nanoseconds(&start) > spin_nanoseconds) return done(argument);
  }
}

static int generation_moved(const void *seen) {
  return atomic_load(&job_generation) != *(const unsigned long *)seen;
}

static int job_finished(const void *unused) {
  (void)unused;
  return atomic_load(&job_active) == 0;
}

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
  for (;;) {
    if (!spin_until(generation_moved, &seen)) {
      pthread_mutex_lock(&lock);
      atomic_fetch_add(&sleeping_workers, 1);
      while (atomic_load(&job_generation) == seen) pthread_cond_wait(&wake, &lock);
      atomic_fetch_sub(&sleeping_workers, 1);
      pthread_mutex_unlock(&lock);
    }
    seen = atomic_load(&job_generation);
    run_iterations();
    if (atomic_fetch_sub(&job_active, 1) == 1 && atomic_load(&caller_sleeping)) {
      pthread_mutex_lock(&lock);
      pthread_cond_signal(&done);
      pthread_mutex_unlock(&lock);
    }
  }
  return NULL;
}

long ckernels_cores(void) {
#if defined(__linux__)
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
#endif
  long online = sysconf(_SC_NPROCESSORS_ONLN);
  return online > 0 ? online : 1;
}

static void start(void) {
  long cores = ckernels_cores();
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

static void run_job(long iterations, ckernels_task task, void *context);

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
  run_job(iterations, task, context);
}

/// Runs a job on the pool, which the caller has taken (`busy`), and releases it.
static void run_job(long iterations, ckernels_task task, void *context) {
  job_task = task;
  job_context = context;
  job_iterations = iterations;
  atomic_store(&job_next, 0);
  atomic_store(&job_active, workers);
  atomic_fetch_add(&job_generation, 1);
  if (atomic_load(&sleeping_workers) > 0) {
    pthread_mutex_lock(&lock);
    pthread_cond_broadcast(&wake);
    pthread_mutex_unlock(&lock);
  }
  inside = 1;
  run_iterations();
  inside = 0;
  if (!spin_until(job_finished, NULL)) {
    pthread_mutex_lock(&lock);
    atomic_store(&caller_sleeping, 1);
    while (atomic_load(&job_active) > 0) pthread_cond_wait(&done, &lock);
    atomic_store(&caller_sleeping, 0);
    pthread_mutex_unlock(&lock);
  }
  atomic_store(&busy, 0);
}

/// The team in progress: ckernels_parallel_team hands its members out as the iterations of a
/// pool job. A member waits at barriers for the others, so no thread can take a second member
/// before every member has a thread: each runs on its own.
static ckernels_team_task team_task;
static void *team_context;
static long team_size;

static void run_member(void *unused, long member) {
  (void)unused;
  team_task(team_context, member, team_size);
}

long ckernels_parallel_team(long members, ckernels_team_task task, void *context) {
  int expected = 0;
  if (members <= 1 || inside || !atomic_compare_exchange_strong(&busy, &expected, 1)) {
    task(context, 0, 1);
    return 1;
  }
  pthread_once(&started, start);
  long team = members < workers + 1 ? members : workers + 1;
  if (team <= 1) {
    atomic_store(&busy, 0);
    task(context, 0, 1);
    return 1;
  }
  team_task = task;
  team_context = context;
  team_size = team;
  run_job(team, run_member, NULL);
  return team;
}

void ckernels_barrier_init(ckernels_barrier *barrier, long team) {
  barrier->arrived = 0;
  barrier->phase = 0;
  barrier->team = team;
}

void ckernels_barrier_wait(ckernels_barrier *barrier) {
  if (barrier->team <= 1) return;
  long phase = __atomic_load_n(&barrier->phase, __ATOMIC_ACQUIRE);
  if (__atomic_add_fetch(&barrier->arrived, 1, __ATOMIC_ACQ_REL) == barrier->team) {
    __atomic_store_n(&barrier->arrived, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&barrier->phase, phase + 1, __ATOMIC_RELEASE);
    return;
  }
  // The other members are running (each has a thread): spin, and on a busy machine let the
  // scheduler run them.
  for (long spins = 0; __atomic_load_n(&barrier->phase, __ATOMIC_ACQUIRE) == phase; spins++) {
    if (spins < (1 << 14)) relax(); else sched_yield();
  }
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
