// The cores' sustained FMA throughput, measured: each thread runs independent chains of fused
// multiply-adds (enough of them to hide the FMA latency) for a fixed count, and the total is
// divided by the wall time. This is the peak the convolution figures are compared with: the
// clock /proc/cpuinfo shows in a VM is nominal, and boost clocks run above it.
// Usage: fma_peak avx512|avx2 THREADS. Prints GFLOP/s. Built and run by compare.py.
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { chains = 12 };
static const long iterations = 2000L * 1000 * 1000 / chains;
static int wide;
float sink[64];  /* read at the end, so the chains are not optimised away */

// Twelve independent chains, written out so that they stay in registers; one body for both
// vector widths.
#define CHAINS(NAME, TARGET, T, SET1, FMA, ADD, STORE)                                         \
  __attribute__((target(TARGET))) static void NAME(void) {                                    \
    const T a = SET1(0.999999f), b = SET1(1e-7f);                                            \
    T x0 = SET1(0.0f); T x1 = SET1(1.0f); T x2 = SET1(2.0f); T x3 = SET1(3.0f); T x4 = SET1(4.0f); T x5 = SET1(5.0f); T x6 = SET1(6.0f); T x7 = SET1(7.0f); T x8 = SET1(8.0f); T x9 = SET1(9.0f); T x10 = SET1(10.0f); T x11 = SET1(11.0f); \
    for (long i = 0; i < iterations; i++) {                                                   \
      x0 = FMA(x0, a, b); x1 = FMA(x1, a, b); x2 = FMA(x2, a, b); x3 = FMA(x3, a, b); x4 = FMA(x4, a, b); x5 = FMA(x5, a, b); x6 = FMA(x6, a, b); x7 = FMA(x7, a, b); x8 = FMA(x8, a, b); x9 = FMA(x9, a, b); x10 = FMA(x10, a, b); x11 = FMA(x11, a, b); \
    }                                                                                        \
    x0 = ADD(x0, x1); x0 = ADD(x0, x2); x0 = ADD(x0, x3); x0 = ADD(x0, x4); x0 = ADD(x0, x5); x0 = ADD(x0, x6); x0 = ADD(x0, x7); x0 = ADD(x0, x8); x0 = ADD(x0, x9); x0 = ADD(x0, x10); x0 = ADD(x0, x11); \
    STORE(sink, x0);                                                                         \
  }

CHAINS(run512, "avx512f", __m512, _mm512_set1_ps, _mm512_fmadd_ps, _mm512_add_ps, _mm512_storeu_ps)
CHAINS(run256, "avx2,fma", __m256, _mm256_set1_ps, _mm256_fmadd_ps, _mm256_add_ps, _mm256_storeu_ps)

static void *worker(void *unused) {
  (void)unused;
  if (wide) run512(); else run256();
  return NULL;
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
  if (argc != 3) { fprintf(stderr, "usage: fma_peak avx512|avx2 THREADS\n"); return 64; }
  wide = strcmp(argv[1], "avx512") == 0;
  int threads = atoi(argv[2]);
  if (threads < 1 || threads > 256) return 64;
  double best = 0;
  for (int round = 0; round < 3; round++) {
    pthread_t ids[256];
    double start = now();
    for (int t = 0; t < threads; t++) pthread_create(&ids[t], NULL, worker, NULL);
    for (int t = 0; t < threads; t++) pthread_join(ids[t], NULL);
    double seconds = now() - start;
    double flops = (double)threads * iterations * chains * (wide ? 16 : 8) * 2;
    if (getenv("FMA_PEAK_DEBUG")) fprintf(stderr, "%d threads: %.3f s\n", threads, seconds);
    if (flops / seconds > best) best = flops / seconds;
  }
  printf("%.1f\n", best / 1e9 + 0 * sink[0]);
  return 0;
}
