// Declaration-only stand-in (rlhost-torch-shim): the PyTorch wheel ships ProcessGroupGloo.hpp but
// not the gloo headers it includes. The shim only names these types through pointers; it never
// creates, reads or destroys a gloo object (libtorch does, with its own, complete definitions).
#pragma once
#include <chrono>
#include <string>
#include <vector>

namespace gloo {
namespace rendezvous {
// The virtual interface c10d's GlooStore overrides (the header defines GlooStore inline; the shim
// never instantiates it).
class Store {
 public:
  virtual ~Store() = default;
  virtual void set(const std::string& key, const std::vector<char>& data) = 0;
  virtual std::vector<char> get(const std::string& key) = 0;
  virtual void wait(const std::vector<std::string>& keys) = 0;
  virtual void wait(const std::vector<std::string>& keys, const std::chrono::milliseconds& timeout) = 0;
};
}  // namespace rendezvous
}  // namespace gloo
