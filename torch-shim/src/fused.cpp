// rlhost-torch-shim: fused activation kernels for the fast arithmetic mode (errors as guard.h).
//
// ELU (alpha 1) is the activation of Isaac Lab's MLPs. libtorch's CPU ELU computes expm1 at full
// libm accuracy and its backward recomputes it from the input: on a 4096x64 float batch that is
// about 13x the time of a ReLU. Here the forward evaluates expm1 with a short polynomial (error
// within a few float ulps) and the backward reuses the output (d elu / dx = y + 1 where x <= 0),
// so both run at close to memory speed. The results differ from libtorch's in the last bits,
// which is why rl_games' exact arithmetic stays libtorch's own `elu`.
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/add.h>
#include <ATen/ops/clamp_max.h>
#include <ATen/ops/elu.h>
#include <ATen/ops/empty_like.h>
#include <ATen/ops/mul.h>
#include <torch/csrc/autograd/custom_function.h>

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "guard.h"

namespace {

using namespace rlhost_shim;

constexpr int64_t kGrain = 32768;  // elements per task: small batches stay on one thread
constexpr float kLog2e = 1.44269504088896341f;
constexpr float kLn2Hi = 0.693359375f;      // ln 2 split in two (Cephes): k * kLn2Hi is exact
constexpr float kLn2Lo = -2.12194440e-4f;
constexpr float kMinArg = -87.0f;           // below, expm1(x) is -1 in float (and 2^k stays normal)

// expm1(r) on |r| <= ln(2)/2: Taylor to r^7 (next term < 1.5e-8 relative).
inline float expm1_poly(float r) {
  float q = 1.0f / 5040.0f;
  q = q * r + 1.0f / 720.0f;
  q = q * r + 1.0f / 120.0f;
  q = q * r + 1.0f / 24.0f;
  q = q * r + 1.0f / 6.0f;
  q = q * r + 0.5f;
  return q * (r * r) + r;
}

// elu(x) = x for x > 0, else expm1(x) = 2^k expm1(r) + (2^k - 1) with x = k ln2 + r.
inline float elu_scalar(float x) {
  if (x > 0.0f) return x;
  if (std::isnan(x)) return x;
  const float xn = std::max(x, kMinArg);
  const float k = std::nearbyint(xn * kLog2e);
  const float r = (xn - k * kLn2Hi) - k * kLn2Lo;
  const float s = std::ldexp(1.0f, static_cast<int>(k));
  return s * expm1_poly(r) + (s - 1.0f);
}

void elu_forward_scalar(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = elu_scalar(x[i]);
}

void elu_backward_scalar(const float* gy, const float* y, float* gx, int64_t n) {
  for (int64_t i = 0; i < n; ++i) gx[i] = y[i] > 0.0f ? gy[i] : gy[i] * (y[i] + 1.0f);
}

__attribute__((target("avx2,fma"))) void elu_forward_avx2(const float* x, float* y, int64_t n) {
  const __m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.0f);
  const __m256 lo = _mm256_set1_ps(kMinArg), log2e = _mm256_set1_ps(kLog2e);
  const __m256 ln2_hi = _mm256_set1_ps(kLn2Hi), ln2_lo = _mm256_set1_ps(kLn2Lo);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    // min/max return their second operand when one is NaN: a NaN input stays NaN through xn.
    const __m256 xn = _mm256_max_ps(lo, _mm256_min_ps(zero, v));
    const __m256 k = _mm256_round_ps(_mm256_mul_ps(xn, log2e), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const __m256 r = _mm256_fnmadd_ps(k, ln2_lo, _mm256_fnmadd_ps(k, ln2_hi, xn));
    __m256 q = _mm256_set1_ps(1.0f / 5040.0f);
    q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(1.0f / 720.0f));
    q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(1.0f / 120.0f));
    q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(1.0f / 24.0f));
    q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(1.0f / 6.0f));
    q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(0.5f));
    const __m256 p = _mm256_fmadd_ps(q, _mm256_mul_ps(r, r), r);
    const __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(k), _mm256_set1_epi32(127)), 23);
    const __m256 s = _mm256_castsi256_ps(bits);
    const __m256 e = _mm256_fmadd_ps(s, p, _mm256_sub_ps(s, one));
    _mm256_storeu_ps(y + i, _mm256_blendv_ps(e, v, _mm256_cmp_ps(v, zero, _CMP_GT_OQ)));
  }
  elu_forward_scalar(x + i, y + i, n - i);
}

__attribute__((target("avx2,fma"))) void elu_backward_avx2(const float* gy, const float* y, float* gx, int64_t n) {
  const __m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.0f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 yv = _mm256_loadu_ps(y + i);
    const __m256 slope = _mm256_blendv_ps(_mm256_add_ps(yv, one), one, _mm256_cmp_ps(yv, zero, _CMP_GT_OQ));
    _mm256_storeu_ps(gx + i, _mm256_mul_ps(_mm256_loadu_ps(gy + i), slope));
  }
  elu_backward_scalar(gy + i, y + i, gx + i, n - i);
}

bool has_avx2() {
  static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return yes;
}

// The fused path takes contiguous float32 CPU tensors; everything else is libtorch's ELU.
bool fusable(const at::Tensor& x) {
  return x.defined() && x.device().is_cpu() && x.scalar_type() == at::kFloat && x.layout() == at::kStrided;
}

at::Tensor elu_forward(const at::Tensor& input) {
  const at::Tensor x = input.contiguous();
  at::Tensor y = at::empty_like(x, at::MemoryFormat::Contiguous);
  const float* xp = x.const_data_ptr<float>();
  float* yp = y.mutable_data_ptr<float>();
  const bool avx2 = has_avx2();
  at::parallel_for(0, x.numel(), kGrain, [&](int64_t b, int64_t e) {
    avx2 ? elu_forward_avx2(xp + b, yp + b, e - b) : elu_forward_scalar(xp + b, yp + b, e - b);
  });
  return y;
}

at::Tensor elu_backward(const at::Tensor& grad_output, const at::Tensor& output) {
  const at::Tensor gy = grad_output.contiguous();
  at::Tensor gx = at::empty_like(output, at::MemoryFormat::Contiguous);
  const float* gyp = gy.const_data_ptr<float>();
  const float* yp = output.const_data_ptr<float>();
  float* gxp = gx.mutable_data_ptr<float>();
  const bool avx2 = has_avx2();
  at::parallel_for(0, output.numel(), kGrain, [&](int64_t b, int64_t e) {
    avx2 ? elu_backward_avx2(gyp + b, yp + b, gxp + b, e - b) : elu_backward_scalar(gyp + b, yp + b, gxp + b, e - b);
  });
  return gx;
}

// ELU as an autograd function: saves its output, not its input.
struct FusedElu : public torch::autograd::Function<FusedElu> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x) {
    at::Tensor y = elu_forward(x);
    ctx->save_for_backward({y});
    return y;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const at::Tensor y = ctx->get_saved_variables()[0];
    const at::Tensor& gy = grads[0];
    if (!gy.defined()) return {at::Tensor()};
    if (gy.scalar_type() != at::kFloat || !gy.device().is_cpu() || gy.sizes() != y.sizes()) {
      return {at::mul(gy, at::add(at::clamp_max(y, 0), 1))};  // slope 1 where y > 0, else y + 1
    }
    return {elu_backward(gy, y)};
  }
};

}  // namespace

extern "C" {

// ELU (alpha 1): the fused kernels for float32 CPU tensors, libtorch's own at::elu otherwise.
// *out is a new at::Tensor (freed by tch's Drop); autograd records it when x requires grad.
int32_t rlhost_shim_fused_elu(const at::Tensor* x, at::Tensor** out, char** err) {
  return guarded(err, [&] {
    if (x == nullptr || out == nullptr) throw ShimError(kInvalidArgument, "null pointer");
    *out = nullptr;
    if (!x->defined()) throw ShimError(kInvalidArgument, "undefined tensor");
    at::Tensor y = fusable(*x) ? FusedElu::apply(*x) : at::elu(*x);
    *out = new at::Tensor(std::move(y));
  });
}

// Whether rlhost_shim_fused_elu runs the AVX2 kernels on this CPU (else a scalar loop).
int32_t rlhost_shim_fused_elu_vectorized() { return has_avx2() ? 1 : 0; }

}  // extern "C"
