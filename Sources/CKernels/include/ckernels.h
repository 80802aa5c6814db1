#ifndef KERAS_INSPECT_CKERNELS_H
#define KERAS_INSPECT_CKERNELS_H

#include <stddef.h>

/// c[m×n] += a[m×k] · b[k×n], all row-major with leading dimensions lda, ldb, ldc (in floats).
/// Uses an AVX2/FMA register-blocked kernel when the processor has it, else portable C.
void ckernels_sgemm(const float *a, const float *b, float *c, long m, long k, long n, long lda, long ldb, long ldc);

/// Whether the AVX2/FMA kernels are in use on this processor.
int ckernels_has_avx2(void);

/// Limits the kernels for tests: 0 chooses by processor (AVX-512, AVX2/FMA or portable C),
/// 1 forces portable C, 2 allows at most AVX2/FMA.
void ckernels_force_level(int level);

#include "ckernels_math.h"

#endif
