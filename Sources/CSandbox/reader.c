#define _GNU_SOURCE
#include "csandbox.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#if defined(__linux__)
#include <sys/resource.h>
#include <unistd.h>

static int forked_reader = 0;
static int reader_pid = 0;

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
  } else if (pid > 0) {
    reader_pid = pid;
  }
  // fork failed: neither; the program starts its reader the usual way.
}

int csandbox_forked_reader(void) { return forked_reader; }
int csandbox_reader_pid(void) { return reader_pid; }

struct run_context {
  void (*body)(void *);
  void *context;
};

static void *run_body(void *argument) {
  struct run_context *run = argument;
  run->body(run->context);
  return NULL;
}

int csandbox_run_on_new_thread(void (*body)(void *), void *context) {
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
int csandbox_run_on_new_thread(void (*body)(void *), void *context) {
  body(context);
  return 0;
}
#endif
