#ifndef KERAS_INSPECT_CSANDBOX_H
#define KERAS_INSPECT_CSANDBOX_H

#include <stdint.h>

/// The Landlock ABI the kernel offers (1 or more), or 0 when it has none (old kernel, disabled,
/// not Linux).
int csandbox_landlock_abi(void);

/// Filesystem rights, as Landlock names them.
enum {
  CSANDBOX_READ = 1,   /* read files (and list directories) beneath the path */
  CSANDBOX_WRITE = 2,  /* write and truncate the file at the path */
  CSANDBOX_CREATE = 4, /* in a directory: create, write and remove regular files beneath it */
};

/// Starts a ruleset that handles every filesystem right (and TCP bind/connect where the ABI has
/// them): whatever no rule allows is denied. Returns its descriptor, or -1.
int csandbox_ruleset(int abi);

/// Allows `rights` (CSANDBOX_READ, CSANDBOX_WRITE) on the file or directory at `path`.
/// Returns 0, or -1 when the path cannot be opened or the rule not added.
int csandbox_allow(int ruleset, int abi, const char *path, int rights);

/// Sets no-new-privileges and enforces the ruleset on this process (and what it starts).
/// Returns 0, or -1.
int csandbox_enforce(int ruleset);

/// No-new-privileges alone (where there is no Landlock).
int csandbox_no_new_privileges(void);

/// Whether no-new-privileges is set on this process (1), not (0), or unknown (-1).
int csandbox_has_no_new_privileges(void);

/// The address-space cap of this process in bytes (0 when unlimited or unknown).
uint64_t csandbox_address_space(void);

/// Caps address space, the size of files written, and open files (0 leaves one as it is).
int csandbox_limits(uint64_t address_space, uint64_t file_size, uint64_t open_files);

/// Whether this process is the reader `keras-inspect summary` forked at start-up, before the Swift
/// runtime started (1), or not (0). A summary reads no weight values, so its reader needs nothing
/// of a program started afresh but the huge pages of its heap, which reader.c asks for itself;
/// forking saves starting the program a second time.
int csandbox_forked_reader(void);

/// In the process that forked that reader: its pid; 0 otherwise.
int csandbox_reader_pid(void);

/// How long a reader may take when `KERAS_INSPECT_TIMEOUT` does not say.
#define CSANDBOX_READER_TIMEOUT_SECONDS 30

/// What the process that forked the reader saw of it before its own Swift start-up. It waits
/// there (up to `KERAS_INSPECT_TIMEOUT` seconds), and a reader that exits ends it with the same
/// exit code, so its Swift code runs only to report a reader that a signal ended or that it
/// stopped at the timeout.
enum {
  CSANDBOX_READER_NOT_WAITED = 0, /* no reader, or not waited for: the Swift side waits */
  CSANDBOX_READER_ENDED = 1,      /* a signal ended it; *status is its wait status */
  CSANDBOX_READER_TIMED_OUT = 2,  /* still running at the timeout, and killed */
};
int csandbox_reader_outcome(int *status);

/// Runs the forked reader's `body(context)`, on the main thread where the Swift runtime is part
/// of the executable. Where it is a shared library, its constructors ran before the fork and may
/// have cached the parent's thread id in thread-local state (its locks are taken with it), so
/// the body runs on a new thread (with the main thread's stack size), which starts with none,
/// and this waits for it. Returns 0, or -1 when no thread could be started.
int csandbox_run_reader(void (*body)(void *), void *context);

#endif
