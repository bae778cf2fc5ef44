// Declaration-only stand-in (rlhost-torch-shim): the PyTorch wheel ships ProcessGroupGloo.hpp but
// not the gloo headers it includes. The shim only names these types through pointers; it never
// creates, reads or destroys a gloo object (libtorch does, with its own, complete definitions).
#pragma once
// Unused by ProcessGroupGloo.hpp's declarations.
