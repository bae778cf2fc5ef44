// rlhost-torch-shim: the error convention every entry point follows.
//
// Every entry point returns 0 on success or an error code (see ShimErrorKind in lib.rs) and then
// sets *err to a malloc'd message that the caller frees with rlhost_shim_free. No C++ exception
// crosses into Rust.
#pragma once

#include <c10/util/Exception.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <string>

namespace rlhost_shim {

constexpr int32_t kOk = 0;
constexpr int32_t kTorchError = 1;
constexpr int32_t kInvalidArgument = 2;
constexpr int32_t kCudaUnavailable = 3;
constexpr int32_t kUnknownError = 4;
constexpr int32_t kDistributed = 5;  // c10d.cpp: a peer gone, a timeout, a refused connection

struct ShimError : std::runtime_error {
  int32_t code;
  ShimError(int32_t c, const std::string& m) : std::runtime_error(m), code(c) {}
};

inline void set_err(char** err, const char* msg) {
  if (err == nullptr) return;
  size_t n = std::strlen(msg);
  char* out = static_cast<char*>(std::malloc(n + 1));
  if (out != nullptr) std::memcpy(out, msg, n + 1);
  *err = out;
}

// Runs f, turning every exception into an error code plus message.
template <class F>
int32_t guarded(char** err, F&& f) noexcept {
  if (err != nullptr) *err = nullptr;
  try {
    f();
    return kOk;
  } catch (const ShimError& e) {
    set_err(err, e.what());
    return e.code;
  } catch (const c10::Error& e) {
    set_err(err, e.what_without_backtrace());
    return kTorchError;
  } catch (const std::exception& e) {
    set_err(err, e.what());
    return kTorchError;
  } catch (...) {
    set_err(err, "unknown C++ exception");
    return kUnknownError;
  }
}

}  // namespace rlhost_shim
