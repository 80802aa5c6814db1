#define _GNU_SOURCE
#include "csandbox.h"

#include <dlfcn.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__linux__)
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

// The forked reader's heap on transparent huge pages, as `glibc.malloc.hugetlb=1` gives a reader
// started afresh (glibc reads its tunables only at start-up, long before this fork): the heap
// grows by HUGE_HEAP_BYTES at once, the range is madvised, and the blocks allocated next start at
// its first 2 MiB boundary. A summary of DenseNet121 then takes 750-860 page faults (parent and
// reader) instead of 2,250, each of which a virtual machine makes slow. Past the range the heap
// grows as usual; the kernel's THP setting still decides.
#define HUGE_HEAP_BYTES (64u << 20)
static void huge_page_heap(void) {
#if defined(__GLIBC__)
  const uintptr_t huge = 2u << 20;
  const size_t block = 1u << 20;
  // Blocks up to 32 MiB from the heap (as the Swift side keeps it, Containment.sandbox), not
  // each a mapping of its own.
  mallopt(M_MMAP_THRESHOLD, 32u << 20);
  mallopt(M_TOP_PAD, HUGE_HEAP_BYTES);
  // More than the heap's free top holds: the heap grows by it and the pad.
  char *before = sbrk(0);
  char *grown = malloc(block);
  char *end = sbrk(0);
  mallopt(M_TOP_PAD, 128u << 10);  // glibc's default again
  // Nothing to madvise unless the heap grew, around this block (where the break cannot move,
  // glibc maps memory elsewhere instead).
  if (grown == NULL || before == (char *)-1 || end == (char *)-1 || end <= before) return;
  if (grown < before - block || grown + block > end) return;
  // glibc carves blocks upwards from the free top, just past this one: a block up to the next
  // 2 MiB boundary puts the following ones there. Both are kept (freed, they would serve the next
  // blocks from 4 KiB pages) and never touched past their headers, so they cost no memory.
  uintptr_t top = (uintptr_t)grown + block + 16;
  uintptr_t first = (top + huge - 1) & ~(huge - 1);
  void *gap = first - top >= 64 ? malloc(first - top - 32) : NULL;
  __asm__ volatile("" : : "r"(grown), "r"(gap) : "memory");  // the compiler may not drop them
  uintptr_t last = (uintptr_t)end & ~(huge - 1);
  if (last > first) madvise((void *)first, last - first, MADV_HUGEPAGE);
#endif
}

static int forked_reader = 0;
static int reader_pid = 0;
static int reader_outcome = CSANDBOX_READER_NOT_WAITED;
static int reader_status = 0;

// KERAS_INSPECT_TIMEOUT as the Swift side reads it (Double(String): the whole text a number,
// no leading space), else the default; -1 when the text is not a number (then the Swift side,
// which reports it, waits).
static double reader_timeout(void) {
  const char *text = getenv("KERAS_INSPECT_TIMEOUT");
  if (text == NULL) return CSANDBOX_READER_TIMEOUT_SECONDS;
  char *end = NULL;
  double seconds = strtod(text, &end);
  if (text[0] == '\0' || text[0] == ' ' || (text[0] >= '\t' && text[0] <= '\r') || *end != '\0') return -1;
  return seconds > 0 ? seconds : 0;
}

static double now_seconds(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

// The parent of the forked reader waits for it here, before its own Swift start-up: a reader
// that exits ends this process with its exit code at once. One that a signal ended, or that
// outlives the timeout (killed here), is left for the Swift side to report. Without a pidfd
// (Linux before 5.3) or a timeout it can read, it returns at once and the Swift side waits.
static void wait_for_reader(pid_t pid) {
  double timeout = reader_timeout();
  if (timeout < 0) return;
  int descriptor = (int)syscall(SYS_pidfd_open, pid, 0);
  if (descriptor < 0) return;
  double deadline = timeout > 0 ? now_seconds() + timeout : 0;
  int ended = 0;
  while (!ended) {
    int wait_ms = -1;
    if (deadline > 0) {
      double left = deadline - now_seconds();
      if (left <= 0) break;
      wait_ms = left * 1000 > 1e9 ? 1000000000 : (int)(left * 1000) + 1;
    }
    struct pollfd readable = {descriptor, POLLIN, 0};
    int ready = poll(&readable, 1, wait_ms);
    if (ready > 0) ended = 1;
    else if (ready < 0 && errno != EINTR) {
      close(descriptor);
      return;
    }
  }
  close(descriptor);
  if (!ended) kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return;
  }
  if (ended && WIFEXITED(status)) _exit(WEXITSTATUS(status));
  reader_status = status;
  reader_outcome = ended ? CSANDBOX_READER_ENDED : CSANDBOX_READER_TIMED_OUT;
}

static int contains(const char *value) {
  // As the Swift side reads KERAS_INSPECT_NO_CONTAINMENT: unset, empty or "0" contains.
  return value == NULL || value[0] == '\0' || strcmp(value, "0") == 0;
}

// Runs before any Swift code (priority 101: ahead of the constructors of the Swift runtime and
// of Foundation when they are linked into the executable). Nothing here may change the
// environment: the Swift runtime finds the arguments beside it.
__attribute__((constructor(101))) static void csandbox_fork_reader(int argc, char **argv, char **envp) {
  (void)envp;
  if (argc < 3 || strcmp(argv[1], "summary") != 0) return;
  if (!contains(getenv("KERAS_INSPECT_NO_CONTAINMENT"))) return;
  const char *marker = getenv("KERAS_INSPECT_CONTAINED_CHILD");
  if (marker != NULL && strcmp(marker, "1") == 0) return;
  pid_t pid = fork();
  if (pid == 0) {
    forked_reader = 1;
    huge_page_heap();
  } else if (pid > 0) {
    reader_pid = pid;
    wait_for_reader(pid);
  }
  // fork failed: neither; the program starts its reader the usual way.
}

int csandbox_forked_reader(void) { return forked_reader; }
int csandbox_reader_pid(void) { return reader_pid; }

int csandbox_reader_outcome(int *status) {
  *status = reader_status;
  return reader_outcome;
}

struct run_context {
  void (*body)(void *);
  void *context;
};

static void *run_body(void *argument) {
  struct run_context *run = argument;
  run->body(run->context);
  return NULL;
}

int csandbox_run_reader(void (*body)(void *), void *context) {
  // A Swift runtime in the executable starts after the fork (its constructors come after this
  // file's): the main thread has nothing stale, and its heap grows in few steps. A new thread's
  // heap is an arena of its own, which glibc grows page by page with an mprotect each (about
  // 600 of them for a DenseNet121 summary).
  void *shared_runtime = dlopen("libswiftCore.so", RTLD_LAZY | RTLD_NOLOAD);
  if (shared_runtime == NULL) {
    body(context);
    return 0;
  }
  dlclose(shared_runtime);
  struct run_context run = {body, context};
  pthread_attr_t attributes;
  if (pthread_attr_init(&attributes) != 0) return -1;
  // The main thread's stack size (its RLIMIT_STACK), so that deep recursion fares the same.
  struct rlimit limit;
  size_t size = 8u << 20;
  if (getrlimit(RLIMIT_STACK, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur > size) size = limit.rlim_cur;
  pthread_attr_setstacksize(&attributes, size);
  pthread_t thread;
  int status = pthread_create(&thread, &attributes, run_body, &run);
  pthread_attr_destroy(&attributes);
  if (status != 0) return -1;
  return pthread_join(thread, NULL) == 0 ? 0 : -1;
}
#else
int csandbox_forked_reader(void) { return 0; }
int csandbox_reader_pid(void) { return 0; }
int csandbox_reader_outcome(int *status) {
  *status = 0;
  return CSANDBOX_READER_NOT_WAITED;
}
int csandbox_run_reader(void (*body)(void *), void *context) {
  body(context);
  return 0;
}
#endif
