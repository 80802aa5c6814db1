#define _GNU_SOURCE
#include "csandbox.h"

#if defined(__linux__)
#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

// Rights of later ABIs than the headers may know.
#define KI_FS_REFER (1ULL << 13)     /* ABI 2 */
#define KI_FS_TRUNCATE (1ULL << 14)  /* ABI 3 */
#define KI_FS_IOCTL_DEV (1ULL << 15) /* ABI 5 */
#define KI_NET_BIND_TCP (1ULL << 0)  /* ABI 4 */
#define KI_NET_CONNECT_TCP (1ULL << 1)

// The ruleset attribute of ABI 4+ (the headers' may stop at handled_access_fs).
struct ki_ruleset_attr {
  uint64_t handled_access_fs;
  uint64_t handled_access_net;
};

struct ki_path_beneath {
  uint64_t allowed_access;
  int32_t parent_fd;
} __attribute__((packed));

static uint64_t fs_rights(int abi) {
  uint64_t rights = (1ULL << 13) - 1; /* ABI 1: EXECUTE .. MAKE_SYM */
  if (abi >= 2) rights |= KI_FS_REFER;
  if (abi >= 3) rights |= KI_FS_TRUNCATE;
  if (abi >= 5) rights |= KI_FS_IOCTL_DEV;
  return rights;
}

int csandbox_landlock_abi(void) {
  long abi = syscall(__NR_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
  return abi < 0 ? 0 : (int)abi;
}

int csandbox_ruleset(int abi) {
  struct ki_ruleset_attr attr = {fs_rights(abi), abi >= 4 ? (KI_NET_BIND_TCP | KI_NET_CONNECT_TCP) : 0};
  size_t size = abi >= 4 ? sizeof(attr) : sizeof(uint64_t);
  return (int)syscall(__NR_landlock_create_ruleset, &attr, size, 0);
}

int csandbox_allow(int ruleset, int abi, const char *path, int rights) {
  int fd = open(path, O_PATH | O_CLOEXEC);
  if (fd < 0) return -1;
  struct stat st;
  if (fstat(fd, &st) < 0) { close(fd); return -1; }
  uint64_t access = 0;
  if (rights & CSANDBOX_READ) {
    access |= LANDLOCK_ACCESS_FS_READ_FILE;
    if (S_ISDIR(st.st_mode)) access |= LANDLOCK_ACCESS_FS_READ_DIR;
  }
  if (rights & CSANDBOX_WRITE) {
    access |= LANDLOCK_ACCESS_FS_WRITE_FILE;
    if (abi >= 3) access |= KI_FS_TRUNCATE;
  }
  if ((rights & CSANDBOX_CREATE) && S_ISDIR(st.st_mode)) {
    access |= LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE |
              LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR | LANDLOCK_ACCESS_FS_MAKE_DIR |
              LANDLOCK_ACCESS_FS_REMOVE_DIR;
    if (abi >= 3) access |= KI_FS_TRUNCATE;
  }
  // Directory-only rights on a file are refused by the kernel.
  if (!S_ISDIR(st.st_mode)) access &= LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_FILE | KI_FS_TRUNCATE | KI_FS_IOCTL_DEV;
  struct ki_path_beneath rule = {access, fd};
  long status = syscall(__NR_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &rule, 0);
  close(fd);
  return status < 0 ? -1 : 0;
}

int csandbox_no_new_privileges(void) { return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); }

int csandbox_enforce(int ruleset) {
  if (csandbox_no_new_privileges() < 0) return -1;
  long status = syscall(__NR_landlock_restrict_self, ruleset, 0);
  close(ruleset);
  return status < 0 ? -1 : 0;
}

static int cap(int resource, uint64_t value) {
  if (value == 0) return 0;
  struct rlimit limit;
  if (getrlimit(resource, &limit) < 0) return -1;
  rlim_t v = (rlim_t)value;
  if (limit.rlim_max != RLIM_INFINITY && v > limit.rlim_max) v = limit.rlim_max;
  limit.rlim_cur = v;
  limit.rlim_max = v;
  return setrlimit(resource, &limit);
}

int csandbox_has_no_new_privileges(void) { return prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0); }

uint64_t csandbox_address_space(void) {
  struct rlimit limit;
  if (getrlimit(RLIMIT_AS, &limit) < 0 || limit.rlim_cur == RLIM_INFINITY) return 0;
  return (uint64_t)limit.rlim_cur;
}

int csandbox_limits(uint64_t address_space, uint64_t file_size, uint64_t open_files) {
  int status = 0;
  status |= cap(RLIMIT_AS, address_space);
  status |= cap(RLIMIT_FSIZE, file_size);
  status |= cap(RLIMIT_NOFILE, open_files);
  return status;
}

#else
int csandbox_landlock_abi(void) { return 0; }
int csandbox_ruleset(int abi) { (void)abi; return -1; }
int csandbox_allow(int ruleset, int abi, const char *path, int rights) { (void)ruleset; (void)abi; (void)path; (void)rights; return -1; }
int csandbox_enforce(int ruleset) { (void)ruleset; return -1; }
int csandbox_no_new_privileges(void) { return -1; }
int csandbox_limits(uint64_t a, uint64_t f, uint64_t o) { (void)a; (void)f; (void)o; return -1; }
int csandbox_has_no_new_privileges(void) { return -1; }
uint64_t csandbox_address_space(void) { return 0; }
#endif
