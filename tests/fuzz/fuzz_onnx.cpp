// libFuzzer: the ONNX importer never crashes on any bytes, and a graph it returns is valid
// (finalized: acyclic, sizes finite and non-negative).
#include <cstdint>
#include <cstdlib>
#include <string>

#include "diviml/io/onnx_import.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  diviml::OnnxImportOptions options;
  options.dims["N"] = 2;
  auto g = diviml::import_onnx_bytes(bytes, "fuzz.onnx", options);
  if (!g) return 0;
  diviml::Graph copy = *g;
  if (!copy.finalize()) std::abort();
  return 0;
}
