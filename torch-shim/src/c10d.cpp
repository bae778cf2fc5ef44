// rlhost-torch-shim: libtorch's c10d collectives (TCPStore rendezvous, ProcessGroupGloo).
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

struct ArgError : std::runtime_error {
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

// A process group: the rendezvous store and the Gloo backend over it.
struct RlhostProcessGroup {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::Backend> backend;
  int rank;
  int size;
  std::chrono::milliseconds timeout;
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
  if (!t->device().is_cpu()) throw ArgError("the Gloo process group takes CPU tensors, got " + t->device().str());
  return *t;
}

}  // namespace

extern "C" {

// Joins the group `world_size` processes form at addr:port, then builds the Gloo backend. Rank 0
// hosts the TCPStore unless host_store is 0 (torchrun's agent already serves it); keys go under
// `prefix` when it is not empty. Both steps give up after timeout_ms.
int32_t rlhost_shim_pg_new(const char* addr, uint16_t port, int32_t rank, int32_t world_size, int64_t timeout_ms,
                           int32_t host_store, const char* prefix, RlhostProcessGroup** out, char** err) {
  return guarded(err, [&] {
    if (addr == nullptr || prefix == nullptr || out == nullptr) throw ArgError("null pointer");
    *out = nullptr;
    if (world_size < 1) throw ArgError("world size must be at least 1, got " + std::to_string(world_size));
    if (rank < 0 || rank >= world_size) {
      throw ArgError("rank " + std::to_string(rank) + " out of range for world size " + std::to_string(world_size));
    }
    if (timeout_ms <= 0) throw ArgError("timeout must be positive, got " + std::to_string(timeout_ms) + " ms");
    const std::chrono::milliseconds timeout(timeout_ms);
    c10d::TCPStoreOptions opts;
    opts.port = port;
    opts.isServer = rank == 0 && host_store != 0;
    opts.numWorkers = static_cast<std::size_t>(world_size);
    opts.waitWorkers = true;
    opts.timeout = timeout;
    c10::intrusive_ptr<c10d::Store> store = c10::make_intrusive<c10d::TCPStore>(std::string(addr), opts);
    if (prefix[0] != '\0') store = c10::make_intrusive<c10d::PrefixStore>(std::string(prefix), store);
    auto gloo_opts = c10d::ProcessGroupGloo::Options::create_default(timeout);
    auto backend = c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, world_size, gloo_opts);
    *out = new RlhostProcessGroup{store, backend, rank, world_size, timeout};
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

// Replaces t with the sum (or mean) of every rank's t. Gloo has no AVG: sum, then divide here.
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
