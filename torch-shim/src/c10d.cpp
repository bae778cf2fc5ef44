// rlhost-torch-shim: libtorch's c10d collectives (TCPStore rendezvous, ProcessGroupGloo, and
// ProcessGroupNCCL when the build found the CUDA and NCCL headers: RLHOST_SHIM_NCCL).
//
// Same conventions as shim.cpp (guard.h): every entry point returns 0 or an error code and sets *err
// to a malloc'd message; no C++ exception crosses into Rust. Every blocking call is bounded by the
// group's timeout, so a dead peer ends in an error instead of a hang.
#include <c10/util/Exception.h>
#include <torch/csrc/distributed/c10d/Backend.hpp>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/distributed/c10d/Types.hpp>
#include <torch/csrc/distributed/c10d/Work.hpp>
#ifdef RLHOST_SHIM_NCCL
#include <ATen/Context.h>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <string>
#include <vector>

#include "guard.h"

namespace {

using rlhost_shim::kDistributed;
using rlhost_shim::kInvalidArgument;
using rlhost_shim::kOk;
using rlhost_shim::kUnknownError;

constexpr int32_t kReduceSum = 0;
constexpr int32_t kReduceAvg = 1;
constexpr int32_t kBackendGloo = 0;
constexpr int32_t kBackendNccl = 1;

struct ArgError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The NCCL group's GPU is not there.
struct NoCudaError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

void set_err(char** err, const std::string& msg) { rlhost_shim::set_err(err, msg.c_str()); }

// The first line of a c10d message: Gloo's and the store's carry file/line context after it.
std::string first_line(const std::string& s) {
  auto end = s.find('\n');
  return end == std::string::npos ? s : s.substr(0, end);
}

// Gloo's messages start with "[file:line] " and end with generic advice; the cause is between.
std::string without_location(const std::string& s) {
  std::string out = s;
  if (!out.empty() && out[0] == '[') {
    auto end = out.find("] ");
    if (end != std::string::npos) out = out.substr(end + 2);
  }
  auto advice = out.find(" This is typically caused by");
  return advice == std::string::npos ? out : out.substr(0, advice);
}

// Runs f, turning every exception into an error code plus message. c10d's own failures (a peer
// gone, a timeout, a refused connection) are kDistributed.
template <class F>
int32_t guarded(char** err, F&& f) noexcept {
  if (err != nullptr) *err = nullptr;
  try {
    f();
    return kOk;
  } catch (const ArgError& e) {
    set_err(err, e.what());
    return kInvalidArgument;
  } catch (const NoCudaError& e) {
    set_err(err, e.what());
    return rlhost_shim::kCudaUnavailable;
  } catch (const c10::DistError& e) {
    set_err(err, first_line(e.what_without_backtrace()));
    return kDistributed;
  } catch (const c10::Error& e) {
    // Gloo's I/O failures (peer closed the connection, read timeout) arrive as c10::Error.
    set_err(err, first_line(e.what_without_backtrace()));
    return kDistributed;
  } catch (const std::exception& e) {
    // gloo::IoException (a std::runtime_error): a peer closed the connection or a read timed out.
    set_err(err, without_location(first_line(e.what())));
    return kDistributed;
  } catch (...) {
    set_err(err, "unknown C++ exception");
    return kUnknownError;
  }
}

}  // namespace

// A process group: the rendezvous store and the Gloo or NCCL backend over it.
struct RlhostProcessGroup {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::Backend> backend;
  int rank;
  int size;
  std::chrono::milliseconds timeout;
  // The CUDA device index an NCCL group is bound to; -1 for Gloo (CPU tensors).
  int cuda_device;
};

namespace {

// Waits for one collective, bounded by the group's timeout.
void finish(RlhostProcessGroup* pg, const c10::intrusive_ptr<c10d::Work>& work, const char* what) {
  if (!work->wait(pg->timeout)) {
    throw ArgError(std::string(what) + " was aborted");
  }
}

at::Tensor& checked(RlhostProcessGroup* pg, at::Tensor* t) {
  if (pg == nullptr || t == nullptr) throw ArgError("null pointer");
  if (!t->defined()) throw ArgError("undefined tensor");
  if (!t->is_contiguous()) throw ArgError("collectives need a contiguous tensor");
  if (pg->cuda_device < 0) {
    if (!t->device().is_cpu()) throw ArgError("the Gloo process group takes CPU tensors, got " + t->device().str());
  } else if (!t->device().is_cuda() || t->device().index() != pg->cuda_device) {
    throw ArgError("the NCCL process group is bound to cuda:" + std::to_string(pg->cuda_device) + ", got a tensor on " +
                   t->device().str());
  }
  return *t;
}

#ifdef RLHOST_SHIM_NCCL
// Before the rendezvous, so a machine without the GPU fails at once instead of after the timeout.
void check_cuda_device(int device) {
  const auto gpus = static_cast<int>(at::getNumGPUs());
  if (gpus == 0) throw NoCudaError("the NCCL process group needs a CUDA device, and this process sees none");
  if (device < 0 || device >= gpus) {
    throw NoCudaError("cuda:" + std::to_string(device) + " does not exist (this process sees " + std::to_string(gpus) +
                   " CUDA devices)");
  }
}

// The NCCL backend bound to cuda:device and connected eagerly, so a missing peer fails here
// (within the timeout) rather than at the first collective.
c10::intrusive_ptr<c10d::Backend> nccl_backend(const c10::intrusive_ptr<c10d::Store>& store, int rank, int size,
                                               std::chrono::milliseconds timeout, int device) {
  auto opts = c10d::ProcessGroupNCCL::Options::create();
  opts->timeout = timeout;
  auto backend = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, size, opts);
  const at::Device bound(at::kCUDA, static_cast<c10::DeviceIndex>(device));
  backend->setBoundDeviceId(bound);
  backend->eagerConnectSingleDevice(bound);
  return backend;
}
#endif

}  // namespace

extern "C" {

// 1 when this build has the NCCL backend (it found the CUDA and NCCL headers), else 0.
int32_t rlhost_shim_nccl_built() noexcept {
#ifdef RLHOST_SHIM_NCCL
  return 1;
#else
  return 0;
#endif
}

// Joins the group `world_size` processes form at addr:port, then builds the backend: Gloo
// (backend 0, CPU tensors) or NCCL (backend 1, tensors on cuda:cuda_device). Rank 0 hosts the
// TCPStore unless host_store is 0 (torchrun's agent already serves it); keys go under `prefix` when
// it is not empty. Both steps give up after timeout_ms.
int32_t rlhost_shim_pg_new(const char* addr, uint16_t port, int32_t rank, int32_t world_size, int64_t timeout_ms,
                           int32_t host_store, const char* prefix, int32_t backend_kind, int32_t cuda_device,
                           RlhostProcessGroup** out, char** err) {
  return guarded(err, [&] {
    if (addr == nullptr || prefix == nullptr || out == nullptr) throw ArgError("null pointer");
    *out = nullptr;
    if (world_size < 1) throw ArgError("world size must be at least 1, got " + std::to_string(world_size));
    if (rank < 0 || rank >= world_size) {
      throw ArgError("rank " + std::to_string(rank) + " out of range for world size " + std::to_string(world_size));
    }
    if (timeout_ms <= 0) throw ArgError("timeout must be positive, got " + std::to_string(timeout_ms) + " ms");
    if (backend_kind != kBackendGloo && backend_kind != kBackendNccl) {
      throw ArgError("unknown backend " + std::to_string(backend_kind));
    }
#ifdef RLHOST_SHIM_NCCL
    if (backend_kind == kBackendNccl) check_cuda_device(cuda_device);
#else
    if (backend_kind == kBackendNccl) {
      throw ArgError("this build has no NCCL backend (the CUDA and NCCL headers were not found when it was compiled)");
    }
#endif
    const std::chrono::milliseconds timeout(timeout_ms);
    c10d::TCPStoreOptions opts;
    opts.port = port;
    opts.isServer = rank == 0 && host_store != 0;
    opts.numWorkers = static_cast<std::size_t>(world_size);
    opts.waitWorkers = true;
    opts.timeout = timeout;
    c10::intrusive_ptr<c10d::Store> store = c10::make_intrusive<c10d::TCPStore>(std::string(addr), opts);
    if (prefix[0] != '\0') store = c10::make_intrusive<c10d::PrefixStore>(std::string(prefix), store);
    c10::intrusive_ptr<c10d::Backend> backend;
    if (backend_kind == kBackendGloo) {
      auto gloo_opts = c10d::ProcessGroupGloo::Options::create_default(timeout);
      backend = c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, world_size, gloo_opts);
    }
#ifdef RLHOST_SHIM_NCCL
    if (backend_kind == kBackendNccl) backend = nccl_backend(store, rank, world_size, timeout, cuda_device);
#endif
    const int device = backend_kind == kBackendNccl ? cuda_device : -1;
    *out = new RlhostProcessGroup{store, backend, rank, world_size, timeout, device};
  });
}

void rlhost_shim_pg_free(RlhostProcessGroup* pg) noexcept {
  try {
    delete pg;
  } catch (...) {
    // A backend whose peers are gone may throw while closing; the process is ending anyway.
  }
}

// Replaces t with root's t on every rank.
int32_t rlhost_shim_pg_broadcast(RlhostProcessGroup* pg, at::Tensor* t, int32_t root, char** err) {
  return guarded(err, [&] {
    std::vector<at::Tensor> tensors{checked(pg, t)};
    if (root < 0 || root >= pg->size) throw ArgError("broadcast root " + std::to_string(root) + " out of range");
    c10d::BroadcastOptions opts;
    opts.rootRank = root;
    opts.timeout = pg->timeout;
    finish(pg, pg->backend->broadcast(tensors, opts), "broadcast");
  });
}

// Replaces t with the sum (or mean) of every rank's t. Gloo has no AVG: sum, then divide here (the
// same for NCCL, so both backends round alike).
int32_t rlhost_shim_pg_all_reduce(RlhostProcessGroup* pg, at::Tensor* t, int32_t op, char** err) {
  return guarded(err, [&] {
    std::vector<at::Tensor> tensors{checked(pg, t)};
    if (op != kReduceSum && op != kReduceAvg) throw ArgError("unknown reduce op " + std::to_string(op));
    c10d::AllreduceOptions opts;
    opts.reduceOp = c10d::ReduceOp(c10d::ReduceOp::SUM);
    opts.timeout = pg->timeout;
    finish(pg, pg->backend->allreduce(tensors, opts), "all_reduce");
    if (op == kReduceAvg) t->div_(pg->size);
  });
}

// Returns once every rank has called it.
int32_t rlhost_shim_pg_barrier(RlhostProcessGroup* pg, char** err) {
  return guarded(err, [&] {
    if (pg == nullptr) throw ArgError("null pointer");
    c10d::BarrierOptions opts;
    opts.timeout = pg->timeout;
    finish(pg, pg->backend->barrier(opts), "barrier");
  });
}

}  // extern "C"
