// rlhost-torch-shim: libtorch pieces tch 0.26 lacks (generator state, DLPack). Errors as guard.h.
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>
#include <ATen/DLConvertor.h>
#include <ATen/core/Generator.h>
#include <ATen/core/MT19937RNGEngine.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <ATen/dlpack.h>
#include <ATen/ops/empty.h>

#include "guard.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

namespace {

using namespace rlhost_shim;

// Device kinds passed from Rust.
constexpr int32_t kDevCpu = 0;
constexpr int32_t kDevCuda = 1;

// CPUGeneratorImpl's serialised state (private to CPUGeneratorImpl.cpp; mirrored here to validate
// a state before handing it to set_state). The sizes are checked against get_state() at run time.
// Layout as observed from torch.get_rng_state() of 2.13: a u64 seed, then left at byte 8, seeded at
// 12, next at 16, the 624 words at 24, the cached double normal sample's flag at 5040.
struct CPUStateLegacy {
  uint64_t the_initial_seed;
  int left;
  int seeded;
  uint64_t next;
  uint64_t state[at::MERSENNE_STATE_N];
  double normal_x;
  double normal_y;
  double normal_rho;
  int normal_is_valid;
};
struct CPUState {
  CPUStateLegacy legacy_pod;
  float next_float_normal_sample;
  bool is_next_float_normal_sample_valid;
};

// libtorch checks the size, seeded, 0 < left <= 624 and next <= 624, but not that the next
// left - 1 draws stay inside the 624-word state: require next + left <= 625, which every state
// mt19937 reaches satisfies (1 + 0 after seeding, 625 after every draw).
void check_cpu_state(const uint8_t* data, size_t len) {
  if (len != sizeof(CPUState) && len != sizeof(CPUStateLegacy)) {
    throw ShimError(kInvalidArgument, "CPU generator state must be " + std::to_string(sizeof(CPUState)) +
                                          " (or legacy " + std::to_string(sizeof(CPUStateLegacy)) +
                                          ") bytes, got " + std::to_string(len));
  }
  CPUStateLegacy pod;
  std::memcpy(&pod, data, sizeof(pod));
  const int64_t n = at::MERSENNE_STATE_N;
  if (pod.seeded != 1 || pod.left <= 0 || pod.left > n || pod.next > static_cast<uint64_t>(n) ||
      static_cast<uint64_t>(pod.left) + pod.next > static_cast<uint64_t>(n + 1) ||
      (pod.normal_is_valid != 0 && pod.normal_is_valid != 1)) {
    throw ShimError(kInvalidArgument, "invalid CPU generator state (not a saved mt19937 state)");
  }
  if (len == sizeof(CPUState)) {
    uint8_t valid = data[offsetof(CPUState, is_next_float_normal_sample_valid)];
    if (valid > 1) throw ShimError(kInvalidArgument, "invalid CPU generator state (bad normal-sample flag)");
  }
}

at::Generator default_generator(int32_t kind, int32_t index) {
  if (kind == kDevCpu) return at::detail::getDefaultCPUGenerator();
  if (kind != kDevCuda) throw ShimError(kInvalidArgument, "unsupported device (only CPU and CUDA)");
  if (!at::hasCUDA()) {
    throw ShimError(kCudaUnavailable, "CUDA is not available (no CUDA build of libtorch loaded, or no GPU/driver)");
  }
  const auto count = at::detail::getCUDAHooks().deviceCount();
  if (index < 0 || index >= count) {
    throw ShimError(kInvalidArgument,
                    "CUDA device " + std::to_string(index) + " out of range (" + std::to_string(count) + " devices)");
  }
  return at::globalContext().defaultGenerator(at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(index)));
}

}  // namespace

extern "C" {

void rlhost_shim_free(void* p) { std::free(p); }

// Copies the default generator's state of a device into a malloc'd buffer (*out, *out_len).
int32_t rlhost_shim_generator_state(int32_t kind, int32_t index, uint8_t** out, size_t* out_len, char** err) {
  return guarded(err, [&] {
    if (out == nullptr || out_len == nullptr) throw ShimError(kInvalidArgument, "null output pointer");
    *out = nullptr;
    *out_len = 0;
    at::Generator gen = default_generator(kind, index);
    at::Tensor state;
    {
      // See PyTorch's Note [Acquire lock when using random generators].
      std::lock_guard<std::mutex> lock(gen.mutex());
      state = gen.get_state();
    }
    state = state.contiguous();
    if (state.scalar_type() != at::kByte || !state.device().is_cpu()) {
      throw ShimError(kTorchError, "generator state is not a CPU uint8 tensor");
    }
    const size_t n = static_cast<size_t>(state.numel());
    auto* buf = static_cast<uint8_t*>(std::malloc(n == 0 ? 1 : n));
    if (buf == nullptr) throw std::bad_alloc();
    if (n != 0) std::memcpy(buf, state.const_data_ptr<uint8_t>(), n);
    *out = buf;
    *out_len = n;
  });
}

// Sets the default generator's state of a device from bytes saved by rlhost_shim_generator_state.
int32_t rlhost_shim_set_generator_state(int32_t kind, int32_t index, const uint8_t* data, size_t len, char** err) {
  return guarded(err, [&] {
    if (data == nullptr && len != 0) throw ShimError(kInvalidArgument, "null state pointer");
    at::Generator gen = default_generator(kind, index);
    at::Tensor state = at::empty({static_cast<int64_t>(len)}, at::TensorOptions().dtype(at::kByte));
    if (len != 0) std::memcpy(state.mutable_data_ptr<uint8_t>(), data, len);
    std::lock_guard<std::mutex> lock(gen.mutex());
    if (kind == kDevCpu) {
      static_assert(std::is_standard_layout_v<CPUState>, "CPUState must be standard layout");
      // The mirrored layout must be libtorch's: the state it saves has the size we expect.
      const auto expected = gen.get_state().numel();
      if (expected != static_cast<int64_t>(sizeof(CPUState))) {
        throw ShimError(kTorchError, "libtorch's CPU generator state is " + std::to_string(expected) +
                                         " bytes, the shim expects " + std::to_string(sizeof(CPUState)));
      }
      check_cpu_state(data, len);
    }
    gen.set_state(state);
  });
}

// at::toDLPack (legacy, unversioned) of an at::Tensor; the result owns a reference to the storage.
int32_t rlhost_shim_to_dlpack(const at::Tensor* t, DLManagedTensor** out, char** err) {
  return guarded(err, [&] {
    if (t == nullptr || out == nullptr) throw ShimError(kInvalidArgument, "null pointer");
    *out = nullptr;
    if (!t->defined()) throw ShimError(kInvalidArgument, "undefined tensor");
    *out = at::toDLPack(*t);
  });
}

// at::fromDLPack: a new at::Tensor (free it with tch's at_free) that calls src's deleter when its
// storage dies. src is always consumed: on error its deleter has run (once) before returning.
int32_t rlhost_shim_from_dlpack(DLManagedTensor* src, at::Tensor** out, char** err) {
  auto fired = std::make_shared<std::atomic<bool>>(false);
  int32_t rc = guarded(err, [&] {
    if (out == nullptr) throw ShimError(kInvalidArgument, "null output pointer");
    *out = nullptr;
    if (src == nullptr) throw ShimError(kInvalidArgument, "null DLManagedTensor");
    const DLTensor& dl = src->dl_tensor;
    if (dl.ndim < 0 || (dl.ndim > 0 && dl.shape == nullptr)) {
      throw ShimError(kInvalidArgument, "DLTensor has a negative ndim or no shape");
    }
    auto deleter = [src, fired](void*) {
      if (!fired->exchange(true) && src->deleter != nullptr) src->deleter(src);
    };
    at::Tensor t = at::fromDLPack(src, deleter);
    *out = new at::Tensor(std::move(t));
  });
  if (rc != kOk && src != nullptr && !fired->exchange(true) && src->deleter != nullptr) {
    src->deleter(src);
  }
  return rc;
}

// Layout of the DLPack structs as compiled here, for the Rust side's layout test.
void rlhost_shim_dlpack_layout(size_t* out, size_t n) {
  const size_t v[] = {sizeof(DLDevice),
                      sizeof(DLDataType),
                      sizeof(DLTensor),
                      offsetof(DLTensor, shape),
                      offsetof(DLTensor, byte_offset),
                      sizeof(DLManagedTensor),
                      offsetof(DLManagedTensor, manager_ctx),
                      offsetof(DLManagedTensor, deleter),
                      sizeof(DLManagedTensorVersioned),
                      offsetof(DLManagedTensorVersioned, flags),
                      offsetof(DLManagedTensorVersioned, dl_tensor),
                      static_cast<size_t>(DLPACK_MAJOR_VERSION),
                      static_cast<size_t>(DLPACK_MINOR_VERSION),
                      sizeof(CPUState),
                      offsetof(CPUStateLegacy, left),
                      offsetof(CPUStateLegacy, next),
                      offsetof(CPUStateLegacy, normal_is_valid),
                      offsetof(CPUState, is_next_float_normal_sample_valid)};
  for (size_t i = 0; i < n && i < sizeof(v) / sizeof(v[0]); ++i) out[i] = v[i];
}

}  // extern "C"
