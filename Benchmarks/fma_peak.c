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

__attribute__((target("avx512f"))) static void run512(void) {
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
  // Twelve independent chains, written out so that they stay in registers.
  __m512 x0 = _mm512_set1_ps(0.0f); __m512 x1 = _mm512_set1_ps(1.0f); __m512 x2 = _mm512_set1_ps(2.0f); __m512 x3 = _mm512_set1_ps(3.0f); __m512 x4 = _mm512_set1_ps(4.0f); __m512 x5 = _mm512_set1_ps(5.0f); __m512 x6 = _mm512_set1_ps(6.0f); __m512 x7 = _mm512_set1_ps(7.0f); __m512 x8 = _mm512_set1_ps(8.0f); __m512 x9 = _mm512_set1_ps(9.0f); __m512 x10 = _mm512_set1_ps(10.0f); __m512 x11 = _mm512_set1_ps(11.0f);
  for (long i = 0; i < iterations; i++) {
    x0 = _mm512_fmadd_ps(x0, a, b); x1 = _mm512_fmadd_ps(x1, a, b); x2 = _mm512_fmadd_ps(x2, a, b); x3 = _mm512_fmadd_ps(x3, a, b); x4 = _mm512_fmadd_ps(x4, a, b); x5 = _mm512_fmadd_ps(x5, a, b); x6 = _mm512_fmadd_ps(x6, a, b); x7 = _mm512_fmadd_ps(x7, a, b); x8 = _mm512_fmadd_ps(x8, a, b); x9 = _mm512_fmadd_ps(x9, a, b); x10 = _mm512_fmadd_ps(x10, a, b); x11 = _mm512_fmadd_ps(x11, a, b);
  }
  x0 = _mm512_add_ps(x0, x1);
  x0 = _mm512_add_ps(x0, x2);
  x0 = _mm512_add_ps(x0, x3);
  x0 = _mm512_add_ps(x0, x4);
  x0 = _mm512_add_ps(x0, x5);
  x0 = _mm512_add_ps(x0, x6);
  x0 = _mm512_add_ps(x0, x7);
  x0 = _mm512_add_ps(x0, x8);
  x0 = _mm512_add_ps(x0, x9);
  x0 = _mm512_add_ps(x0, x10);
  x0 = _mm512_add_ps(x0, x11);
  _mm512_storeu_ps(sink, x0);
}

__attribute__((target("avx2,fma"))) static void run256(void) {
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
  // Twelve independent chains, written out so that they stay in registers.
  __m256 x0 = _mm256_set1_ps(0.0f); __m256 x1 = _mm256_set1_ps(1.0f); __m256 x2 = _mm256_set1_ps(2.0f); __m256 x3 = _mm256_set1_ps(3.0f); __m256 x4 = _mm256_set1_ps(4.0f); __m256 x5 = _mm256_set1_ps(5.0f); __m256 x6 = _mm256_set1_ps(6.0f); __m256 x7 = _mm256_set1_ps(7.0f); __m256 x8 = _mm256_set1_ps(8.0f); __m256 x9 = _mm256_set1_ps(9.0f); __m256 x10 = _mm256_set1_ps(10.0f); __m256 x11 = _mm256_set1_ps(11.0f);
  for (long i = 0; i < iterations; i++) {
    x0 = _mm256_fmadd_ps(x0, a, b); x1 = _mm256_fmadd_ps(x1, a, b); x2 = _mm256_fmadd_ps(x2, a, b); x3 = _mm256_fmadd_ps(x3, a, b); x4 = _mm256_fmadd_ps(x4, a, b); x5 = _mm256_fmadd_ps(x5, a, b); x6 = _mm256_fmadd_ps(x6, a, b); x7 = _mm256_fmadd_ps(x7, a, b); x8 = _mm256_fmadd_ps(x8, a, b); x9 = _mm256_fmadd_ps(x9, a, b); x10 = _mm256_fmadd_ps(x10, a, b); x11 = _mm256_fmadd_ps(x11, a, b);
  }
  x0 = _mm256_add_ps(x0, x1);
  x0 = _mm256_add_ps(x0, x2);
  x0 = _mm256_add_ps(x0, x3);
  x0 = _mm256_add_ps(x0, x4);
  x0 = _mm256_add_ps(x0, x5);
  x0 = _mm256_add_ps(x0, x6);
  x0 = _mm256_add_ps(x0, x7);
  x0 = _mm256_add_ps(x0, x8);
  x0 = _mm256_add_ps(x0, x9);
  x0 = _mm256_add_ps(x0, x10);
  x0 = _mm256_add_ps(x0, x11);
  _mm256_storeu_ps(sink, x0);
}

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
