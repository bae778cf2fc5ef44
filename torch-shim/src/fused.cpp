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
#include <ATen/ops/addmm.h>
#include <ATen/ops/clamp_max.h>
#include <ATen/ops/elu.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/empty_like.h>
#include <ATen/ops/mm.h>
#include <ATen/ops/mul.h>
#include <ATen/ops/zeros.h>
#include <c10/core/GradMode.h>
#include <torch/csrc/autograd/custom_function.h>

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <vector>

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

// ---- A whole ELU MLP as one autograd node -------------------------------------------------
//
// libtorch runs an MLP op by op, each op a parallel region over the whole batch: a Linear's
// GEMM, then its ELU over the (batch, units) result, then the next GEMM, with a barrier after
// each and every activation leaving the cache between them. On a 2-core CPU the barriers and the
// passes over memory cost about as much as the products (bench/update_floor.py). Here the rows
// are cut into blocks that fit in L2; each thread takes a contiguous run of blocks and carries
// each block through every layer (GEMM on one thread, bias, ELU in place) before the next, so
// there is one parallel region per pass. The backward walks the blocks the same way: ELU's slope
// from the saved outputs, the weight and bias gradients summed per thread (then over threads),
// the input gradient block by block. Products and sums are float32 as libtorch's, in another
// order: results differ from the op-by-op network in the last bits (the fast arithmetic).

constexpr int64_t kBlockBytes = 192 * 1024;  // one block's widest activation: a few of them fit in L2

// Rows per block: a multiple of 16 with the widest layer's block within kBlockBytes.
int64_t block_rows(int64_t widest) {
  const int64_t rows = kBlockBytes / (4 * std::max<int64_t>(widest, 1));
  return std::max<int64_t>(16, rows / 16 * 16);
}

// A first layer with a handful of inputs (Pendulum's 3, a classic-control env's 2 to 6): MKL's
// GEMM on K <= 8 runs at a few GFLOP/s, and its weight gradient (units x rows · rows x K) costs
// as much as a whole hidden layer's. These loops run over the units at vector width instead.
constexpr int64_t kSmallFanIn = 8;

// z (rows x units) = bias + x (rows x k) · wt, with wt = Wᵀ (k x units).
__attribute__((target_clones("arch=haswell", "default")))
void small_fan_in_forward(const float* x, int64_t rows, int64_t k, const float* wt, const float* bias, float* z,
                          int64_t units) {
  for (int64_t r = 0; r < rows; ++r) {
    float* zr = z + r * units;
    for (int64_t j = 0; j < units; ++j) zr[j] = bias[j];
    for (int64_t c = 0; c < k; ++c) {
      const float xv = x[r * k + c];
      const float* w = wt + c * units;
      for (int64_t j = 0; j < units; ++j) zr[j] += xv * w[j];
    }
  }
}

// gwt (k x units) += xᵀ (k x rows) · dz (rows x units).
__attribute__((target_clones("arch=haswell", "default")))
void small_fan_in_weight_grad(const float* dz, const float* x, int64_t rows, int64_t k, int64_t units, float* gwt) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* dr = dz + r * units;
    for (int64_t c = 0; c < k; ++c) {
      const float xv = x[r * k + c];
      float* g = gwt + c * units;
      for (int64_t j = 0; j < units; ++j) g[j] += xv * dr[j];
    }
  }
}

void elu_inplace(float* y, int64_t n) {
  has_avx2() ? elu_forward_avx2(y, y, n) : elu_forward_scalar(y, y, n);
}

void elu_slope(const float* gy, const float* y, float* gx, int64_t n) {
  has_avx2() ? elu_backward_avx2(gy, y, gx, n) : elu_backward_scalar(gy, y, gx, n);
}

// acc[j] += sum over rows of dz[r, j] (dz is rows x cols, contiguous).
__attribute__((target_clones("arch=haswell", "default")))
void add_column_sums(const float* dz, int64_t rows, int64_t cols, float* acc) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = dz + r * cols;
    for (int64_t j = 0; j < cols; ++j) acc[j] += row[j];
  }
}

// Checks the MLP's operands: float32, CPU, contiguous, shapes chained.
void check_mlp(const at::Tensor& x, at::TensorList params) {
  if (params.size() % 2 != 0 || params.empty()) throw ShimError(kInvalidArgument, "fused_elu_mlp: weights and biases must pair up");
  if (x.dim() != 2) throw ShimError(kInvalidArgument, "fused_elu_mlp: the input must be (rows, features)");
  int64_t width = x.size(1);
  for (size_t i = 0; i < params.size(); i += 2) {
    const at::Tensor& w = params[i];
    const at::Tensor& b = params[i + 1];
    if (w.dim() != 2 || w.size(1) != width || b.dim() != 1 || b.size(0) != w.size(0)) {
      throw ShimError(kInvalidArgument, "fused_elu_mlp: layer " + std::to_string(i / 2) + " does not fit its input");
    }
    width = w.size(0);
  }
}

// The weights and biases of params (weight_0, bias_0, weight_1, ...), detached.
struct Layers {
  std::vector<at::Tensor> w, b;
  explicit Layers(at::TensorList params) {
    for (size_t i = 0; i + 1 < params.size(); i += 2) {
      w.push_back(params[i].detach());
      b.push_back(params[i + 1].detach());
    }
  }
};

// The forward on every row: returns each layer's ELU output (rows, units_i).
std::vector<at::Tensor> mlp_forward(const at::Tensor& x, const std::vector<at::Tensor>& w, const std::vector<at::Tensor>& b) {
  const int64_t rows = x.size(0);
  const size_t layers = w.size();
  std::vector<at::Tensor> acts;
  int64_t widest = 1;
  for (size_t i = 0; i < layers; ++i) {
    acts.push_back(at::empty({rows, w[i].size(0)}, x.options()));
    widest = std::max(widest, w[i].size(0));
  }
  const int64_t block = block_rows(widest);
  const int64_t blocks = (rows + block - 1) / block;
  const int64_t fan_in = x.size(1);
  const at::Tensor wt0 = fan_in <= kSmallFanIn ? w[0].t().contiguous() : at::Tensor();
  at::parallel_for(0, blocks, 1, [&](int64_t first, int64_t last) {
    c10::AutoGradMode no_grad(false);
    for (int64_t k = first; k < last; ++k) {
      const int64_t r0 = k * block, n = std::min(block, rows - r0);
      at::Tensor h = x.narrow(0, r0, n);
      for (size_t i = 0; i < layers; ++i) {
        at::Tensor z = acts[i].narrow(0, r0, n);
        if (i == 0 && wt0.defined()) {
          small_fan_in_forward(h.const_data_ptr<float>(), n, fan_in, wt0.const_data_ptr<float>(),
                               b[0].const_data_ptr<float>(), z.mutable_data_ptr<float>(), z.size(1));
        } else {
          at::addmm_out(z, b[i], h, w[i].t());
        }
        elu_inplace(z.mutable_data_ptr<float>(), z.numel());
        h = z;
      }
    }
  });
  return acts;
}

struct FusedEluMlp : public torch::autograd::Function<FusedEluMlp> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, at::TensorList params) {
    const Layers layers(params);
    std::vector<at::Tensor> acts = mlp_forward(x, layers.w, layers.b);
    torch::autograd::variable_list saved{x};
    saved.insert(saved.end(), params.begin(), params.end());
    saved.insert(saved.end(), acts.begin(), acts.end());
    ctx->save_for_backward(saved);
    ctx->saved_data["layers"] = static_cast<int64_t>(layers.w.size());
    return acts.back();
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const int64_t layers = ctx->saved_data["layers"].toInt();
    const at::Tensor x = saved[0].detach();
    std::vector<at::Tensor> w, acts;
    for (int64_t i = 0; i < layers; ++i) {
      w.push_back(saved[1 + 2 * i].detach());
      acts.push_back(saved[1 + 2 * layers + i].detach());
    }
    torch::autograd::variable_list out(1 + 2 * layers);
    if (!grads[0].defined()) return out;
    const at::Tensor gy = grads[0].to(at::kFloat).contiguous();
    const bool want_x = ctx->needs_input_grad(0);
    const int64_t rows = x.size(0);
    int64_t widest = 1;
    for (const auto& a : acts) widest = std::max(widest, a.size(1));
    const int64_t block = block_rows(widest);
    const int64_t blocks = (rows + block - 1) / block;
    // Each run of blocks (one per thread) sums its own weight and bias gradients; the runs' sums
    // are added after the parallel region, in the order of their first block, so a thread count
    // gives the same bits every time.
    std::mutex merge;
    std::vector<std::pair<int64_t, std::vector<at::Tensor>>> partial;
    at::Tensor gx = want_x ? at::empty_like(x, at::MemoryFormat::Contiguous) : at::Tensor();
    at::parallel_for(0, blocks, 1, [&](int64_t first, int64_t last) {
      c10::AutoGradMode no_grad(false);
      std::vector<at::Tensor> sums;  // gw_0, gb_0, gw_1, ...
      for (int64_t i = 0; i < layers; ++i) {
        sums.push_back(at::zeros_like(w[i]));
        sums.push_back(at::zeros({w[i].size(0)}, x.options()));
      }
      const bool small = w[0].size(1) <= kSmallFanIn;
      at::Tensor gwt0 = small ? at::zeros({w[0].size(1), w[0].size(0)}, x.options()) : at::Tensor();
      at::Tensor dz_buf = at::empty({block * widest}, x.options());
      at::Tensor g_buf = at::empty({block * widest}, x.options());
      for (int64_t k = first; k < last; ++k) {
        const int64_t r0 = k * block, n = std::min(block, rows - r0);
        at::Tensor g = gy.narrow(0, r0, n);
        for (int64_t i = layers - 1; i >= 0; --i) {
          const int64_t units = w[i].size(0), fan_in = w[i].size(1);
          const at::Tensor y = acts[i].narrow(0, r0, n);
          at::Tensor dz = dz_buf.narrow(0, 0, n * units).view({n, units});
          elu_slope(g.const_data_ptr<float>(), y.const_data_ptr<float>(), dz.mutable_data_ptr<float>(), n * units);
          const at::Tensor h = i > 0 ? acts[i - 1].narrow(0, r0, n) : x.narrow(0, r0, n);
          if (i == 0 && small) {
            small_fan_in_weight_grad(dz.const_data_ptr<float>(), h.const_data_ptr<float>(), n, fan_in, units,
                                     gwt0.mutable_data_ptr<float>());
          } else {
            sums[2 * i].addmm_(dz.t(), h);
          }
          add_column_sums(dz.const_data_ptr<float>(), n, units, sums[2 * i + 1].mutable_data_ptr<float>());
          if (i > 0) {
            g = g_buf.narrow(0, 0, n * fan_in).view({n, fan_in});
            at::mm_out(g, dz, w[i]);
          } else if (want_x) {
            at::Tensor gxb = gx.narrow(0, r0, n);
            at::mm_out(gxb, dz, w[0]);
          }
        }
      }
      if (small) sums[0].add_(gwt0.t());
      std::lock_guard<std::mutex> lock(merge);
      partial.emplace_back(first, std::move(sums));
    });
    std::sort(partial.begin(), partial.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    if (want_x) out[0] = gx;
    for (int64_t j = 0; j < 2 * layers; ++j) {
      const at::Tensor& param = saved[1 + j];
      at::Tensor sum = partial.empty() ? at::zeros_like(param) : partial[0].second[j];
      for (size_t p = 1; p < partial.size(); ++p) sum.add_(partial[p].second[j]);
      out[1 + j] = sum;
    }
    return out;
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

// An MLP of `layers` Linear + ELU layers on x (rows, features): params holds weight_0, bias_0,
// weight_1, ... (2 * layers tensors). Float32 contiguous CPU operands only (others: error
// kInvalidArgument, and the caller runs the layers itself). *out is the last layer's output;
// with grad mode on and any operand requiring grad it is one autograd node.
int32_t rlhost_shim_fused_elu_mlp(const at::Tensor* x, const at::Tensor* const* params, int64_t count,
                                  at::Tensor** out, char** err) {
  return guarded(err, [&] {
    if (x == nullptr || out == nullptr || (count > 0 && params == nullptr)) throw ShimError(kInvalidArgument, "null pointer");
    *out = nullptr;
    std::vector<at::Tensor> list;
    bool grad = false;
    for (int64_t i = 0; i < count; ++i) {
      if (params[i] == nullptr || !params[i]->defined()) throw ShimError(kInvalidArgument, "undefined tensor");
      list.push_back(*params[i]);
    }
    if (!x->defined()) throw ShimError(kInvalidArgument, "undefined tensor");
    auto fits = [](const at::Tensor& t) { return fusable(t) && t.is_contiguous(); };
    if (!fits(*x)) throw ShimError(kInvalidArgument, "fused_elu_mlp: the input is not a contiguous float32 CPU tensor");
    for (const auto& t : list) {
      if (!fits(t)) throw ShimError(kInvalidArgument, "fused_elu_mlp: a parameter is not a contiguous float32 CPU tensor");
      grad = grad || t.requires_grad();
    }
    check_mlp(*x, list);
    grad = (grad || x->requires_grad()) && at::GradMode::is_enabled();
    at::Tensor y;
    if (grad) {
      y = FusedEluMlp::apply(*x, at::TensorList(list));
    } else {
      const Layers layers(list);
      y = mlp_forward(*x, layers.w, layers.b).back();
    }
    *out = new at::Tensor(std::move(y));
  });
}

// Whether rlhost_shim_fused_elu runs the AVX2 kernels on this CPU (else a scalar loop).
int32_t rlhost_shim_fused_elu_vectorized() { return has_avx2() ? 1 : 0; }

}  // extern "C"
