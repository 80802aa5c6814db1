#ifndef KERAS_INSPECT_CKERNELS_LANES_H
#define KERAS_INSPECT_CKERNELS_LANES_H

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

/// The mask of the first n lanes of an 8-float vector (n clamped to 0...8), for the masked loads
/// and stores of a row's tail.
__attribute__((target("avx2,fma")))
static inline __m256i ckernels_lanes8(long n) {
  const __m256i index = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(n < 0 ? 0 : n > 8 ? 8 : n)), index);
}
#endif

#endif
