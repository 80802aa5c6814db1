#ifndef KERAS_INSPECT_CKERNELS_H
#define KERAS_INSPECT_CKERNELS_H

#include <stddef.h>

/// c[m×n] += a[m×k] · b[k×n], all row-major with leading dimensions lda, ldb, ldc (in floats).
/// Uses an AVX2/FMA register-blocked kernel when the processor has it, else portable C.
void ckernels_sgemm(const float *a, const float *b, float *c, long m, long k, long n, long lda, long ldb, long ldc);

/// How many floats ckernels_pack writes for a k×n b: its column panels, each k×width contiguous,
/// the last zero-padded past column n, in the layout of the kernel in use (width 32 for AVX-512,
/// 16 for AVX2/FMA); 0 when the portable kernel is in use or b is too narrow (nothing to pack).
long ckernels_packed_floats(long k, long n);

/// Packs b (k×n, row stride ldb) once, for products that reuse it (recurrent steps, convolution
/// windows): `packed` must hold ckernels_packed_floats(k, n) floats, 64-byte aligned.
void ckernels_pack(const float *b, long k, long n, long ldb, float *packed);

/// Columns [col0, col0 + cols) of c[m×n] += a[m×k] · b[k×n], reading b's panels from `packed`
/// (from ckernels_pack; col0 a multiple of 32, which every panel width divides), or from b itself when nothing was packed.
void ckernels_sgemm_packed(const float *a, const float *b, const float *packed, float *c, long m, long k, long n,
                           long col0, long cols, long lda, long ldb, long ldc);

/// A convolution with unit horizontal dilation as products over the input itself, without
/// gathering its windows: for output rows r in [0, rows), each of the kh tap rows di adds
/// x[y]·(rows di·tap_k ..< (di+1)·tap_k of b) to the ow outputs of row r (ldc floats apart,
/// rows out_row_pitch apart), where y = y0 + r·row_step + di·tap_step is an input row
/// (row_pitch floats apart; rows outside [0, height) are zero padding and skipped), and output
/// column j's window is the tap_k floats at x[y] + j·lda (lda: horizontal stride × channels; the
/// rows must be padded so that every window lies inside). Only columns [col0, col1) of c, col0 a
/// multiple of 16. b (k×n, k = kh·tap_k) is read from `packed` (ckernels_pack). Returns 1, or 0
/// without touching c when the kernels in use are not the AVX2 ones, which this is written for.
long ckernels_conv_direct(const float *x, long height, long row_pitch, long y0, long row_step, long tap_step,
                          long kh, long tap_k, long lda, const float *packed, long k, long n, long col0, long col1,
                          float *c, long ldc, long ow, long rows, long out_row_pitch);

/// Whether the AVX2/FMA (or better) kernels are in use.
int ckernels_has_avx2(void);

/// The kernels in use, chosen once per process: 0 portable C, 1 AVX2/FMA, 2 AVX-512. The best
/// the processor has, capped by the environment variable KERAS_INSPECT_KERNELS when it is set.
int ckernels_level(void);

/// What KERAS_INSPECT_KERNELS asks for: 0 portable, 1 avx2, 2 avx512, 3 auto (or unset), -1 a
/// value that names none of these.
int ckernels_requested_level(void);

/// The cores this process may run on: those of its CPU affinity mask (`taskset`, a container's
/// cpuset), else the online ones; at least 1. The pool has one thread per core.
long ckernels_cores(void);

/// One iteration of a parallel loop: `context` is the caller's, `index` in [0, iterations).
typedef void (*ckernels_task)(void *context, long index);

/// Runs task(context, i) for every i in [0, iterations) on a fixed pool of threads (one per core,
/// the caller's among them), returning when all are done. Nested calls, and calls while another
/// thread's loop runs, run their iterations on the calling thread.
void ckernels_parallel_for(long iterations, ckernels_task task, void *context);

/// One member of a team (ckernels_parallel_team): `member` in [0, team).
typedef void (*ckernels_team_task)(void *context, long member, long team);

/// Runs task(context, member, team) for every member in [0, team) at the same time, each on a
/// thread of its own (the caller's among them), so that members may wait for each other at a
/// ckernels_barrier; returns team when all are done. team is `members`, or fewer when the pool
/// has fewer threads; 1 (member 0 alone, on the calling thread) for a nested call, while another
/// thread's loop runs, or on one core. Every member must reach every barrier.
long ckernels_parallel_team(long members, ckernels_team_task task, void *context);

/// A barrier for the members of a team: ckernels_barrier_wait returns once all `team` members
/// have called it. Reusable at once (sense-reversing); waiting spins, then yields the core.
typedef struct {
  long arrived;
  long phase;
  long team;
} ckernels_barrier;

void ckernels_barrier_init(ckernels_barrier *barrier, long team);
void ckernels_barrier_wait(ckernels_barrier *barrier);

/// With `keep`, freed buffers of up to 32 MiB stay in the process's heap for reuse (glibc:
/// mallopt), instead of each being mapped afresh and unmapped on free. Without, every buffer
/// over 128 KiB gets a mapping of its own, handed back when freed (and glibc's threshold no
/// longer rises as buffers are freed), so freeing leaves no hole in the heap. Process-wide; a
/// no-op elsewhere.
void ckernels_keep_freed_buffers(int keep);

/// Reads `bytes` bytes of file `fd` from `offset` into `destination`, in parts of 1 MiB spread
/// over the cores (with pread, which moves no shared file position); 2 MiB or less on the calling
/// thread. Returns 0, or the errno of a part that failed (EIO when the file ends first).
int ckernels_parallel_pread(int fd, void *destination, size_t bytes, long long offset);

/// memcpy in parts of 1 MiB spread over the cores, as ckernels_parallel_pread reads.
void ckernels_parallel_copy(void *destination, const void *source, size_t bytes);

/// The CRC-32 of a zip entry (IEEE polynomial, as zlib computes it; about 1.8 GB/s here).
unsigned int ckernels_crc32(const void *bytes, size_t count);

#include "ckernels_math.h"

#endif
