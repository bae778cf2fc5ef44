// rlhost-torch-shim: libtorch's intra-op thread pool for work that is not a tensor op (errors as
// guard.h).
//
// A CPU simulator stepped between two policy forwards competes with libtorch's OpenMP workers,
// which spin for a while after each parallel region: a second thread pool on the same cores
// loses that race (measured on MuJoCo Ant-v5 with 2 cores: two env threads beside two torch
// threads stepped 10% faster than one, and made the policy forwards 5x slower). Running the
// steps on libtorch's own threads uses the workers that are already awake.
#include <ATen/Parallel.h>

#include <cstdint>

#include "guard.h"

using namespace rlhost_shim;

extern "C" {

// Calls body(ctx, begin, end) on disjoint ranges covering [0, n), on libtorch's intra-op
// threads (at::parallel_for with grain 1: one range per thread, at most n ranges). body must
// not throw or unwind; the Rust side catches its panics.
int32_t rlhost_shim_parallel_for(int64_t n, void* ctx, void (*body)(void*, int64_t, int64_t), char** err) {
  return guarded(err, [&] {
    if (body == nullptr) throw ShimError(kInvalidArgument, "null body");
    if (n < 0) throw ShimError(kInvalidArgument, "negative range");
    at::parallel_for(0, n, 1, [&](int64_t begin, int64_t end) { body(ctx, begin, end); });
  });
}

}  // extern "C"
