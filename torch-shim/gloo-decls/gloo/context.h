// Declaration-only stand-in (rlhost-torch-shim): the PyTorch wheel ships ProcessGroupGloo.hpp but
// not the gloo headers it includes. The shim only names these types through pointers; it never
// creates, reads or destroys a gloo object (libtorch does, with its own, complete definitions).
#pragma once
#include <chrono>

namespace gloo {
// ProcessGroupGloo.hpp's inline setTimeout names this member (the shim never calls it).
class Context {
 public:
  void setTimeout(std::chrono::milliseconds timeout);
};
}  // namespace gloo
