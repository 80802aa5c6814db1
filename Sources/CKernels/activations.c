#include <math.h>
#include "ckernels.h"
#include "lanes.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

/// exp(x) for 8 floats: range reduction by ln 2 and Cephes's degree-6 polynomial (as in avx_mathfun).
__attribute__((target("avx2,fma")))
static inline __m256 exp8(__m256 x) {
  x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-88.3762626647949f)), _mm256_set1_ps(88.3762626647949f));
  __m256 fx = _mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504088896341f), _mm256_set1_ps(0.5f));
  fx = _mm256_floor_ps(fx);
  x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), x);
  x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), x);
  __m256 y = _mm256_set1_ps(1.9875691500E-4f);
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.3981999507E-3f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(8.3334519073E-3f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(4.1665795894E-2f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.6666665459E-1f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(5.0000001201E-1f));
  y = _mm256_fmadd_ps(y, _mm256_mul_ps(x, x), _mm256_add_ps(x, _mm256_set1_ps(1.0f)));
  __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvttps_epi32(fx), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(y, _mm256_castsi256_ps(e));
}

/// sigmoid(v), or v · sigmoid(v) (swish) when `times_x`; NaN stays NaN (the clamp inside exp8
/// would hide it). Below exp8's clamp (-88.38, where sigmoid is a denormal under 2^-127) sigmoid
/// is taken as 0, so swish(-inf) is -inf · 0 = NaN, as `x * sigmoid(x)` computes it.
__attribute__((target("avx2,fma")))
static inline __m256 logistic8(__m256 v, int times_x) {
  const __m256 one = _mm256_set1_ps(1.0f);
  __m256 e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), v));
  __m256 s = _mm256_div_ps(one, _mm256_add_ps(one, e));
  s = _mm256_andnot_ps(_mm256_cmp_ps(v, _mm256_set1_ps(-88.3762626647949f), _CMP_LT_OQ), s);
  __m256 r = times_x ? _mm256_mul_ps(v, s) : s;
  return _mm256_blendv_ps(r, v, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
}

__attribute__((target("avx2,fma")))
static inline __m256 tanh8(__m256 v) {
  const __m256 one = _mm256_set1_ps(1.0f), two = _mm256_set1_ps(2.0f);
  const __m256 signmask = _mm256_set1_ps(-0.0f);
  __m256 sign = _mm256_and_ps(v, signmask);
  __m256 a = _mm256_andnot_ps(signmask, v);
  // |x| >= 0.625: 1 - 2 / (exp(2|x|) + 1), with the sign put back.
  __m256 big = _mm256_sub_ps(one, _mm256_div_ps(two, _mm256_add_ps(exp8(_mm256_mul_ps(two, a)), one)));
  big = _mm256_or_ps(big, sign);
  // |x| < 0.625: x + x^3 P(x^2).
  __m256 z = _mm256_mul_ps(v, v);
  __m256 p = _mm256_set1_ps(-5.70498872745E-3f);
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(2.06390887954E-2f));
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(-5.37397155531E-2f));
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(1.33314422036E-1f));
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(-3.33332819422E-1f));
  __m256 small = _mm256_fmadd_ps(_mm256_mul_ps(p, z), v, v);
  __m256 useSmall = _mm256_cmp_ps(a, _mm256_set1_ps(0.625f), _CMP_LT_OQ);
  __m256 r = _mm256_blendv_ps(big, small, useSmall);
  return _mm256_blendv_ps(r, v, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
}

/// x = sigmoid(x), or x · sigmoid(x) (swish) when `times_x`, in one pass.
__attribute__((target("avx2,fma")))
static void logistic_avx2(float *x, long n, int times_x) {
  long i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, logistic8(_mm256_loadu_ps(x + i), times_x));
  // The tail in one masked vector step, with the approximation of the rest of the row, not a
  // libm call per float (a 10-unit LSTM's gates are 8 + 2 floats a step).
  if (i < n) {
    const __m256i mask = ckernels_lanes8(n - i);
    _mm256_maskstore_ps(x + i, mask, logistic8(_mm256_maskload_ps(x + i, mask), times_x));
  }
}

__attribute__((target("avx2,fma")))
static void tanh_avx2(float *x, long n) {
  long i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, tanh8(_mm256_loadu_ps(x + i)));
  if (i < n) {
    const __m256i mask = ckernels_lanes8(n - i);
    _mm256_maskstore_ps(x + i, mask, tanh8(_mm256_maskload_ps(x + i, mask)));
  }
}
#define CKERNELS_X86 1
#endif

/// Both: x = (times_x ? x : 1) / (1 + exp(-x)), vectorised when AVX2 is there.
static void logistic(float *x, long n, int times_x) {
#ifdef CKERNELS_X86
  if (ckernels_has_avx2()) { logistic_avx2(x, n, times_x); return; }
#endif
  for (long i = 0; i < n; i++) x[i] = (times_x ? x[i] : 1.0f) / (1.0f + expf(-x[i]));
}

void ckernels_sigmoid(float *x, long n) { logistic(x, n, 0); }

void ckernels_swish(float *x, long n) { logistic(x, n, 1); }

void ckernels_tanh(float *x, long n) {
#ifdef CKERNELS_X86
  if (ckernels_has_avx2()) { tanh_avx2(x, n); return; }
#endif
  for (long i = 0; i < n; i++) x[i] = tanhf(x[i]);
}
