// libFuzzer: the graph reader never crashes, and what it accepts writes and reads back the same.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "diviml/io/json_io.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto g = diviml::parse_graph(text, "fuzz.graph.json");
  if (!g) return 0;
  auto back = diviml::parse_graph(diviml::graph_to_json(*g), "back.graph.json");
  if (!back || back->num_nodes() != g->num_nodes() || back->num_edges() != g->num_edges()) std::abort();
  return 0;
}
