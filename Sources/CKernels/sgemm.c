#include <stdlib.h>
#include <string.h>
#include "ckernels.h"
#include "lanes.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CKERNELS_X86 1
#endif

/// Portable i-k-j product: the inner loop streams a row of b into a row of c.
static void sgemm_generic(const float *a, const float *b, float *c, long m, long k, long n, long lda, long ldb, long ldc) {
  for (long i = 0; i < m; i++) {
    float *row = c + i * ldc;
    for (long p = 0; p < k; p++) {
      const float scale = a[i * lda + p];
      const float *brow = b + p * ldb;
      for (long j = 0; j < n; j++) row[j] += scale * brow[j];
    }
  }
}

/// Copies columns j..<j+cols (cols ≤ width) of b's rows [p0, p1) into rows [p0, p1) of a
/// contiguous k×width panel, zero past `cols`, so the kernel reads it sequentially instead of one
/// cache line (and page) per row. Whole panels copy rows of a constant width, which the compiler
/// turns into vector moves.
static void pack_panel_rows(const float *b, long ldb, long p0, long p1, long j, long cols, long width, float *panel) {
  if (cols == 16 && width == 16) {
    for (long p = p0; p < p1; p++) memcpy(panel + 16 * p, b + p * ldb + j, 16 * sizeof(float));
  } else if (cols == 32 && width == 32) {
    for (long p = p0; p < p1; p++) memcpy(panel + 32 * p, b + p * ldb + j, 32 * sizeof(float));
  } else {
    for (long p = p0; p < p1; p++) {
      memcpy(panel + width * p, b + p * ldb + j, (size_t)cols * sizeof(float));
      memset(panel + width * p + cols, 0, (size_t)(width - cols) * sizeof(float));
    }
  }
}

#ifdef CKERNELS_X86
/// 6×16 register block: 12 accumulators, per step of k two loads of b and six broadcasts of a.
/// The k×16 panel of b is reused by every block of six rows, so it stays in L1.
/// Loads and stores of 8 floats of c, the lanes past `n` (0...8) left alone when n < 8 (a
/// narrow layer's last panel); whole vectors otherwise, as masked moves are slow on some cores.
__attribute__((target("avx2,fma")))
static inline __m256 load8_avx2(const float *c, long n) {
  return n >= 8 ? _mm256_loadu_ps(c) : _mm256_maskload_ps(c, ckernels_lanes8(n));
}
__attribute__((target("avx2,fma")))
static inline void store8_avx2(float *c, long n, __m256 x) {
  if (n >= 8) _mm256_storeu_ps(c, x);
  else _mm256_maskstore_ps(c, ckernels_lanes8(n), x);
}

/// R rows (1...6) of c[·×cols] += a · panel over k steps, with 2·R accumulators in registers;
/// always inlined with R a constant, so the loops over rows unroll. With fewer than four rows
/// the even and odd steps of k go to separate accumulators, so at least eight products are in
/// flight (two FMA units, four cycles each), and the two are added at the end.
__attribute__((target("avx2,fma"), always_inline))
static inline void block_avx2(const float *a0, long lda, const float *panel, float *c0, long ldc, long k, long n0, long n1, int R) {
  __m256 acc[6][2], odd[6][2];
  for (int r = 0; r < R; r++) {
    acc[r][0] = load8_avx2(c0 + r * ldc, n0);
    acc[r][1] = n1 > 0 ? load8_avx2(c0 + r * ldc + 8, n1) : _mm256_setzero_ps();
    odd[r][0] = odd[r][1] = _mm256_setzero_ps();
  }
  long p = 0;
  if (R < 4) {
    for (; p + 2 <= k; p += 2) {
      const __m256 b0 = _mm256_load_ps(panel + 16 * p), b1 = _mm256_load_ps(panel + 16 * p + 8);
      const __m256 d0 = _mm256_load_ps(panel + 16 * p + 16), d1 = _mm256_load_ps(panel + 16 * p + 24);
      for (int r = 0; r < R; r++) {
        const __m256 s = _mm256_broadcast_ss(a0 + r * lda + p), t = _mm256_broadcast_ss(a0 + r * lda + p + 1);
        acc[r][0] = _mm256_fmadd_ps(s, b0, acc[r][0]);
        acc[r][1] = _mm256_fmadd_ps(s, b1, acc[r][1]);
        odd[r][0] = _mm256_fmadd_ps(t, d0, odd[r][0]);
        odd[r][1] = _mm256_fmadd_ps(t, d1, odd[r][1]);
      }
    }
  }
  for (; p < k; p++) {
    const __m256 b0 = _mm256_load_ps(panel + 16 * p), b1 = _mm256_load_ps(panel + 16 * p + 8);
    for (int r = 0; r < R; r++) {
      const __m256 s = _mm256_broadcast_ss(a0 + r * lda + p);
      acc[r][0] = _mm256_fmadd_ps(s, b0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(s, b1, acc[r][1]);
    }
  }
  for (int r = 0; r < R; r++) {
    if (R < 4) {
      acc[r][0] = _mm256_add_ps(acc[r][0], odd[r][0]);
      acc[r][1] = _mm256_add_ps(acc[r][1], odd[r][1]);
    }
    store8_avx2(c0 + r * ldc, n0, acc[r][0]);
    if (n1 > 0) store8_avx2(c0 + r * ldc + 8, n1, acc[r][1]);
  }
}

/// One row of c[1×cols] += a · panel (a recurrent step at batch 1): four independent
/// accumulator pairs over k, so the FMAs do not wait on each other; one pair would run at the
/// FMA's latency.
__attribute__((target("avx2,fma")))
static void row_avx2(const float *ai, const float *panel, float *c0, long k, long n0, long n1) {
  __m256 x0 = load8_avx2(c0, n0), x1 = n1 > 0 ? load8_avx2(c0 + 8, n1) : _mm256_setzero_ps();
  __m256 y0 = _mm256_setzero_ps(), y1 = _mm256_setzero_ps();
  __m256 z0 = _mm256_setzero_ps(), z1 = _mm256_setzero_ps();
  __m256 w0 = _mm256_setzero_ps(), w1 = _mm256_setzero_ps();
  long p = 0;
  for (; p + 4 <= k; p += 4) {
    const float *q = panel + 16 * p;
    x0 = _mm256_fmadd_ps(_mm256_broadcast_ss(ai + p), _mm256_load_ps(q), x0);
    x1 = _mm256_fmadd_ps(_mm256_broadcast_ss(ai + p), _mm256_load_ps(q + 8), x1);
    y0 = _mm256_fmadd_ps(_mm256_broadcast_ss(ai + p + 1), _mm256_load_ps(q + 16), y0);
    y1 = _mm256_fmadd_ps(_mm256_broadcast_ss(ai + p + 1), _mm256_load_ps(q + 24), y1);
    z0 = _mm256_fmadd_ps(_mm256_broadcast_ss(ai + p + 2), _mm256_load_ps(q + 32), z0);
    z1 = _mm256_fmadd_ps(_mm256_broadcast_ss(ai + p + 2), _mm256_load_ps(q + 40), z1);
    w0 = _mm256_fmadd_ps(_mm256_broadcast_ss(ai + p + 3), _mm256_load_ps(q + 48), w0);
    w1 = _mm256_fmadd_ps(_mm256_broadcast_ss(ai + p + 3), _mm256_load_ps(q + 56), w1);
  }
  for (; p < k; p++) {
    x0 = _mm256_fmadd_ps(_mm256_broadcast_ss(ai + p), _mm256_load_ps(panel + 16 * p), x0);
    x1 = _mm256_fmadd_ps(_mm256_broadcast_ss(ai + p), _mm256_load_ps(panel + 16 * p + 8), x1);
  }
  x0 = _mm256_add_ps(_mm256_add_ps(x0, y0), _mm256_add_ps(z0, w0));
  x1 = _mm256_add_ps(_mm256_add_ps(x1, y1), _mm256_add_ps(z1, w1));
  store8_avx2(c0, n0, x0);
  if (n1 > 0) store8_avx2(c0 + 8, n1, x1);
}

/// AVX2 micro-kernel over one k×16 panel of b (rows 16 floats apart, 32-byte aligned):
/// c[m×cols] += a[m×k] · panel, for the first `cols` (1...16) columns of the panel (a narrow
/// layer's last panel is zero-padded, and its columns of c are read and written under a mask).
/// Six-row blocks reuse the panel from L1; the 2–5 rows left over run as one smaller block.
__attribute__((target("avx2,fma")))
static void panel_avx2(const float *a, long lda, const float *panel, float *c, long ldc, long m, long k, long cols) {
  const long n0 = cols, n1 = cols - 8;
  if (m == 1) { row_avx2(a, panel, c, k, n0, n1); return; }
  long i = 0;
  for (; i + 6 <= m; i += 6) block_avx2(a + i * lda, lda, panel, c + i * ldc, ldc, k, n0, n1, 6);
  switch (m - i) {
  case 5: block_avx2(a + i * lda, lda, panel, c + i * ldc, ldc, k, n0, n1, 5); break;
  case 4: block_avx2(a + i * lda, lda, panel, c + i * ldc, ldc, k, n0, n1, 4); break;
  case 3: block_avx2(a + i * lda, lda, panel, c + i * ldc, ldc, k, n0, n1, 3); break;
  case 2: block_avx2(a + i * lda, lda, panel, c + i * ldc, ldc, k, n0, n1, 2); break;
  case 1: row_avx2(a + i * lda, panel, c + i * ldc, k, n0, n1); break;
  default: break;
  }
}

__attribute__((target("avx2,fma")))
static void sgemm_avx2(const float *a, const float *bFull, float *c, long m, long k, long n, long lda, long ldbFull, long ldc) {
  // Panels up to k = 1024 fit a 64 KiB stack buffer; larger k is cut into chunks of 1024.
  enum { max_k = 1024 };
  if (k > max_k) {
    for (long p0 = 0; p0 < k; p0 += max_k) {
      long kk = k - p0 < max_k ? k - p0 : max_k;
      sgemm_avx2(a + p0, bFull + p0 * ldbFull, c, m, kk, n, lda, ldbFull, ldc);
    }
    return;
  }
  float panel[16 * max_k] __attribute__((aligned(32)));
  for (long j = 0; j < n; j += 16) {
    const long cols = n - j < 16 ? n - j : 16;
    pack_panel_rows(bFull, ldbFull, 0, k, j, cols, 16, panel);
    panel_avx2(a, lda, panel, c + j, ldc, m, k, cols);
  }
}

/// AVX-512 micro-kernel over one k×32 panel of b (rows 32 floats apart, 64-byte aligned):
/// c[m×cols] += a[m×k] · panel, for the first `cols` (1...32) columns of the panel; the lanes
/// past `cols` are masked off in c (a narrow layer's last panel is zero-padded). 8×32 register
/// block, 16 accumulators; per step of k two loads of the panel and eight broadcasts of a.
__attribute__((target("avx512f,fma")))
static void panel_avx512(const float *a, long lda, const float *panel, float *c, long ldc, long m, long k, long cols) {
  const __mmask16 m0 = cols >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << cols) - 1);
  const __mmask16 m1 = cols >= 32 ? (__mmask16)0xFFFF : cols <= 16 ? (__mmask16)0 : (__mmask16)((1u << (cols - 16)) - 1);
  long i = 0;
  for (; i + 8 <= m; i += 8) {
    float *c0 = c + i * ldc;
    __m512 acc[8][2];
    for (int r = 0; r < 8; r++) {
      acc[r][0] = _mm512_maskz_loadu_ps(m0, c0 + r * ldc);
      acc[r][1] = _mm512_maskz_loadu_ps(m1, c0 + r * ldc + 16);
    }
    const float *a0 = a + i * lda;
    for (long p = 0; p < k; p++) {
      const __m512 b0 = _mm512_load_ps(panel + 32 * p);
      const __m512 b1 = _mm512_load_ps(panel + 32 * p + 16);
      for (int r = 0; r < 8; r++) {
        const __m512 s = _mm512_set1_ps(a0[r * lda + p]);
        acc[r][0] = _mm512_fmadd_ps(s, b0, acc[r][0]);
        acc[r][1] = _mm512_fmadd_ps(s, b1, acc[r][1]);
      }
    }
    for (int r = 0; r < 8; r++) {
      _mm512_mask_storeu_ps(c0 + r * ldc, m0, acc[r][0]);
      _mm512_mask_storeu_ps(c0 + r * ldc + 16, m1, acc[r][1]);
    }
  }
  for (; i < m; i++) {
    // One row: four independent accumulator pairs over k, so the FMAs do not wait on each other.
    float *c0 = c + i * ldc;
    const float *ai = a + i * lda;
    __m512 x0 = _mm512_maskz_loadu_ps(m0, c0), x1 = _mm512_maskz_loadu_ps(m1, c0 + 16);
    __m512 y0 = _mm512_setzero_ps(), y1 = _mm512_setzero_ps();
    __m512 z0 = _mm512_setzero_ps(), z1 = _mm512_setzero_ps();
    __m512 w0 = _mm512_setzero_ps(), w1 = _mm512_setzero_ps();
    long p = 0;
    for (; p + 4 <= k; p += 4) {
      const float *q = panel + 32 * p;
      x0 = _mm512_fmadd_ps(_mm512_set1_ps(ai[p]), _mm512_load_ps(q), x0);
      x1 = _mm512_fmadd_ps(_mm512_set1_ps(ai[p]), _mm512_load_ps(q + 16), x1);
      y0 = _mm512_fmadd_ps(_mm512_set1_ps(ai[p + 1]), _mm512_load_ps(q + 32), y0);
      y1 = _mm512_fmadd_ps(_mm512_set1_ps(ai[p + 1]), _mm512_load_ps(q + 48), y1);
      z0 = _mm512_fmadd_ps(_mm512_set1_ps(ai[p + 2]), _mm512_load_ps(q + 64), z0);
      z1 = _mm512_fmadd_ps(_mm512_set1_ps(ai[p + 2]), _mm512_load_ps(q + 80), z1);
      w0 = _mm512_fmadd_ps(_mm512_set1_ps(ai[p + 3]), _mm512_load_ps(q + 96), w0);
      w1 = _mm512_fmadd_ps(_mm512_set1_ps(ai[p + 3]), _mm512_load_ps(q + 112), w1);
    }
    for (; p < k; p++) {
      x0 = _mm512_fmadd_ps(_mm512_set1_ps(ai[p]), _mm512_load_ps(panel + 32 * p), x0);
      x1 = _mm512_fmadd_ps(_mm512_set1_ps(ai[p]), _mm512_load_ps(panel + 32 * p + 16), x1);
    }
    x0 = _mm512_add_ps(_mm512_add_ps(x0, y0), _mm512_add_ps(z0, w0));
    x1 = _mm512_add_ps(_mm512_add_ps(x1, y1), _mm512_add_ps(z1, w1));
    _mm512_mask_storeu_ps(c0, m0, x0);
    _mm512_mask_storeu_ps(c0 + 16, m1, x1);
  }
}

/// AVX-512: each k×32 panel of b is packed into a stack buffer (k ≤ 512 per chunk), then run
/// through the micro-kernel for every row of a.
__attribute__((target("avx512f,fma")))
static void sgemm_avx512(const float *a, const float *bFull, float *c, long m, long k, long n, long lda, long ldbFull, long ldc) {
  enum { max_k = 256 };
  if (k > max_k) {
    for (long p0 = 0; p0 < k; p0 += max_k) {
      long kk = k - p0 < max_k ? k - p0 : max_k;
      sgemm_avx512(a + p0, bFull + p0 * ldbFull, c, m, kk, n, lda, ldbFull, ldc);
    }
    return;
  }
  float panel[32 * max_k] __attribute__((aligned(64)));
  for (long j = 0; j < n; j += 32) {
    long cols = n - j < 32 ? n - j : 32;
    pack_panel_rows(bFull, ldbFull, 0, k, j, cols, 32, panel);
    panel_avx512(a, lda, panel, c + j, ldc, m, k, cols);
  }
}

static int has_avx512(void) {
  static int cached = -1;
  if (cached < 0) {
    __builtin_cpu_init();
    cached = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
  }
  return cached;
}

#endif

/// The kernels in use, chosen once per process: the best the processor has, or at most what
/// `KERAS_INSPECT_KERNELS` names (portable, avx2, avx512; auto or unset: the best).
/// 0: portable C; 1: AVX2/FMA; 2: AVX-512.
static int processor_level(void) {
#ifdef CKERNELS_X86
  __builtin_cpu_init();
  if (!(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))) return 0;
  return has_avx512() ? 2 : 1;
#else
  return 0;
#endif
}

int ckernels_requested_level(void) {
  const char *name = getenv("KERAS_INSPECT_KERNELS");
  if (name == NULL || *name == 0 || strcmp(name, "auto") == 0) return 3;
  if (strcmp(name, "portable") == 0) return 0;
  if (strcmp(name, "avx2") == 0) return 1;
  if (strcmp(name, "avx512") == 0) return 2;
  return -1;
}

int ckernels_level(void) {
  static int cached = -1;
  if (cached < 0) {
    int best = processor_level(), requested = ckernels_requested_level();
    cached = requested >= 0 && requested < best ? requested : best;
  }
  return cached;
}

int ckernels_has_avx2(void) { return ckernels_level() >= 1; }

void ckernels_sgemm(const float *a, const float *b, float *c, long m, long k, long n, long lda, long ldb, long ldc) {
#ifdef CKERNELS_X86
  if (ckernels_has_avx2()) {
    // Narrow products waste most of a zero-padded panel: 8 columns and more take AVX-512's
    // 32-wide panels, 4 and more AVX2's 16-wide ones, fewer the portable loop.
    if (ckernels_level() >= 2 && n >= 8) { sgemm_avx512(a, b, c, m, k, n, lda, ldb, ldc); return; }
    if (n >= 4) { sgemm_avx2(a, b, c, m, k, n, lda, ldb, ldc); return; }
  }
#endif
  sgemm_generic(a, b, c, m, k, n, lda, ldb, ldc);
}

/// The width of the panels a k×n matrix is packed into for the kernels in use (32 floats for
/// AVX-512, 16 for AVX2: each kernel's register block), or 0 when it is not packed.
static long packed_width(long n) {
#ifdef CKERNELS_X86
  // Narrow products waste most of a zero-padded panel: those run unpacked, as ckernels_sgemm
  // chooses its kernel.
  if (ckernels_level() >= 2 && n >= 8) return 32;
  if (ckernels_level() == 1 && n >= 4) return 16;
#else
  (void)n;
#endif
  return 0;
}

long ckernels_packed_floats(long k, long n) {
  const long width = packed_width(n);
  return width > 0 ? ((n + width - 1) / width) * width * k : 0;
}

/// Rows [p0, p1) of panels [first, last) of b's packing (panel width `width`, k rows each).
static void pack_rows(const float *b, long ldb, long n, long p0, long p1, long first, long last, long width, long k,
                      float *packed) {
  for (long jp = first; jp < last; jp++) {
    const long j = width * jp, cols = n - j < width ? n - j : width;
    pack_panel_rows(b, ldb, p0, p1, j, cols, width, packed + jp * width * k);
  }
}

typedef struct {
  const float *b;
  long k, n, ldb, width, panels, parts;
  float *packed;
} pack_job;

/// One core's share of a packing: a contiguous run of panels (so each core first touches, and
/// has the kernel zero, pages of its own), in blocks of 64 rows, read once each while they are
/// spread over the run's panels.
static void pack_part(void *context, long part) {
  const pack_job *job = context;
  const long first = job->panels * part / job->parts, last = job->panels * (part + 1) / job->parts;
  enum { block = 64 };
  for (long p0 = 0; p0 < job->k; p0 += block) {
    const long p1 = job->k - p0 < block ? job->k : p0 + block;
    pack_rows(job->b, job->ldb, job->n, p0, p1, first, last, job->width, job->k, job->packed);
  }
}

void ckernels_pack(const float *b, long k, long n, long ldb, float *packed) {
  const long width = packed_width(n);
  if (width == 0 || k <= 0) return;
  const long panels = (n + width - 1) / width;
  // Large matrices (a Dense kernel of a big model, 64 MB for 4096×4096) are packed by every
  // core: the copy, and the page faults of a buffer touched for the first time, are most of
  // loading such a model. Small ones are not worth waking the pool for.
  const long cores = ckernels_cores();
  const long parts = k * panels * width >= (1L << 18) && panels >= cores ? cores : 1;
  pack_job job = {b, k, n, ldb, width, panels, parts, packed};
  if (parts == 1) pack_part(&job, 0);
  else ckernels_parallel_for(parts, pack_part, &job);
}

void ckernels_sgemm_packed(const float *a, const float *b, const float *packed, float *c, long m, long k, long n,
                           long col0, long cols, long lda, long ldb, long ldc) {
#ifdef CKERNELS_X86
  const long width = packed_width(n);
  if (width > 0 && k > 0 && col0 % width == 0) {
    // Chunks of k keep the rows of a being broadcast within L1 across a panel.
    enum { chunk = 256 };
    // The last panel is zero-padded past column n: every column is read from the panels.
    long end = col0 + cols < n ? col0 + cols : n;
    for (long j = col0; j < end; j += width) {
      const float *panel = packed + (j / width) * width * k;
      long used = end - j < width ? end - j : width;
      for (long p0 = 0; p0 < k; p0 += chunk) {
        long kk = k - p0 < chunk ? k - p0 : chunk;
        if (width == 32) panel_avx512(a + p0, lda, panel + 32 * p0, c + j, ldc, m, kk, used);
        else panel_avx2(a + p0, lda, panel + 16 * p0, c + j, ldc, m, kk, used);
      }
    }
    (void)b;
    return;
  }
#endif
  ckernels_sgemm(a, b + col0, c + col0, m, k, cols, lda, ldb, ldc);
}

long ckernels_conv_direct(const float *x, long height, long row_pitch, long y0, long row_step, long tap_step,
                          long kh, long tap_k, long lda, const float *packed, long k, long n, long col0, long col1,
                          float *c, long ldc, long ow, long rows, long out_row_pitch) {
#ifdef CKERNELS_X86
  if (packed_width(n) != 16 || tap_k <= 0 || kh * tap_k != k) return 0;
  // Chunks of a tap row's k keep the rows of x being broadcast within L1 across a panel; the
  // panel's chunk (at most 16 KiB) stays in L1 across every output row of the share.
  enum { chunk = 256 };
  const long end = col1 < n ? col1 : n;
  for (long j = col0; j < end; j += 16) {
    const float *panel = packed + (j / 16) * 16 * k;
    const long used = end - j < 16 ? end - j : 16;
    for (long di = 0; di < kh; di++) {
      for (long p0 = 0; p0 < tap_k; p0 += chunk) {
        const long kk = tap_k - p0 < chunk ? tap_k - p0 : chunk;
        const float *bp = panel + 16 * (di * tap_k + p0);
        for (long r = 0; r < rows; r++) {
          // A tap row outside the input reads its zero padding: it adds nothing.
          const long y = y0 + r * row_step + di * tap_step;
          if (y < 0 || y >= height) continue;
          panel_avx2(x + y * row_pitch + p0, lda, bp, c + r * out_row_pitch + j, ldc, ow, kk, used);
        }
      }
    }
  }
  return 1;
#else
  (void)x; (void)height; (void)row_pitch; (void)y0; (void)row_step; (void)tap_step; (void)kh; (void)tap_k; (void)lda;
  (void)packed; (void)k; (void)n; (void)col0; (void)col1; (void)c; (void)ldc; (void)ow; (void)rows; (void)out_row_pitch;
  return 0;
#endif
}
