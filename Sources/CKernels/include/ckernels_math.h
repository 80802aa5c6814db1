#ifndef KERAS_INSPECT_CKERNELS_MATH_H
#define KERAS_INSPECT_CKERNELS_MATH_H

/// In place over n floats: x = 1 / (1 + exp(-x)). AVX2 polynomial exp (Cephes, about 2 ulp) when available.
void ckernels_sigmoid(float *x, long n);
/// In place over n floats: x = x · sigmoid(x) (swish, silu), the sigmoid as ckernels_sigmoid's.
void ckernels_swish(float *x, long n);
/// In place over n floats: x = tanh(x). Cephes tanhf: a polynomial below |x| = 0.625, exp above.
void ckernels_tanh(float *x, long n);

#endif
