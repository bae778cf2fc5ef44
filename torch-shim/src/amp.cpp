// rlhost-torch-shim: automatic mixed precision pieces tch 0.26 lacks (errors as guard.h).
//
// tch's `autocast` switches CUDA autocast on with libtorch's default lower-precision dtype
// (float16) only; rl_games' PPO update asks for bfloat16. These entry points do what
// `torch.autocast(device_type, dtype)`'s __enter__ / __exit__ do, for any dtype. The unscale
// step of a GradScaler is libtorch's foreach kernel, which tch does not wrap.
#include <ATen/autocast_mode.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/_amp_foreach_non_finite_check_and_unscale.h>

#include <vector>

#include "guard.h"

using rlhost_shim::guarded;
using rlhost_shim::kInvalidArgument;
using rlhost_shim::ShimError;

namespace {

// The device types the Rust side names: 0 = CPU, 1 = CUDA.
at::DeviceType device_type(int32_t kind) {
  switch (kind) {
    case 0:
      return at::kCPU;
    case 1:
      return at::kCUDA;
    default:
      throw ShimError(kInvalidArgument, "autocast: unknown device kind");
  }
}

}  // namespace

extern "C" {

// torch.autocast.__enter__: records the previous enabled flag, dtype and cache flag of `kind`
// in prev[0..3], then enables autocast for `kind` with `dtype` (a c10::ScalarType) and the cache.
int32_t rlhost_shim_autocast_enter(int32_t kind, int32_t dtype, int32_t* prev, char** err) {
  return guarded(err, [&] {
    if (prev == nullptr) throw ShimError(kInvalidArgument, "null pointer");
    at::DeviceType device = device_type(kind);
    auto scalar = static_cast<at::ScalarType>(dtype);
    if (scalar != at::kBFloat16 && scalar != at::kHalf) {
      throw ShimError(kInvalidArgument, "autocast: the dtype must be bfloat16 or float16");
    }
    prev[0] = at::autocast::is_autocast_enabled(device) ? 1 : 0;
    prev[1] = static_cast<int32_t>(at::autocast::get_autocast_dtype(device));
    prev[2] = at::autocast::is_autocast_cache_enabled() ? 1 : 0;
    at::autocast::set_autocast_enabled(device, true);
    at::autocast::set_autocast_dtype(device, scalar);
    at::autocast::increment_nesting();
    at::autocast::set_autocast_cache_enabled(true);
  });
}

// torch.autocast.__exit__: drops the cast cache when the outermost region ends and restores the
// state `rlhost_shim_autocast_enter` recorded in prev.
int32_t rlhost_shim_autocast_exit(int32_t kind, const int32_t* prev, char** err) {
  return guarded(err, [&] {
    if (prev == nullptr) throw ShimError(kInvalidArgument, "null pointer");
    at::DeviceType device = device_type(kind);
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    at::autocast::set_autocast_enabled(device, prev[0] != 0);
    at::autocast::set_autocast_dtype(device, static_cast<at::ScalarType>(prev[1]));
    at::autocast::set_autocast_cache_enabled(prev[2] != 0);
  });
}

// torch._amp_foreach_non_finite_check_and_unscale_(grads, found_inf, inv_scale): multiplies each
// of the n tensors by inv_scale in place and sets found_inf to 1 if any element is inf or NaN.
// The handles are const; the kernel writes through them into the tensors they share.
int32_t rlhost_shim_amp_unscale(const at::Tensor* const* grads, size_t n, const at::Tensor* found_inf,
                                const at::Tensor* inv_scale, char** err) {
  return guarded(err, [&] {
    if ((grads == nullptr && n > 0) || found_inf == nullptr || inv_scale == nullptr) {
      throw ShimError(kInvalidArgument, "null pointer");
    }
    std::vector<at::Tensor> list;
    list.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      if (grads[i] == nullptr || !grads[i]->defined()) throw ShimError(kInvalidArgument, "undefined gradient");
      list.push_back(*grads[i]);
    }
    at::Tensor found = *found_inf;
    at::_amp_foreach_non_finite_check_and_unscale_(list, found, *inv_scale);
  });
}

}  // extern "C"
