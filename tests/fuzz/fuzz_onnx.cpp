// libFuzzer: the ONNX importer never crashes on any bytes, and a graph it returns is valid
// (finalized: acyclic, sizes finite and non-negative).
#include <cstdint>
#include <cstdlib>
#include <string>

#include "diviml/io/onnx_import.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  // No --dim: a name that matches no input is an error before any folding, and the corpus
  // models have static shapes.
  auto g = diviml::import_onnx_bytes(bytes, "fuzz.onnx", {});
  if (!g) return 0;
  diviml::Graph copy = *g;
  if (!copy.finalize()) std::abort();
  return 0;
}
