// What `diviml serve` writes: the serving result as JSON (`diviml.serve/1`, docs/formats.md), a
// plain-text table, and a self-contained HTML page (docs/serving.md).
#pragma once

#include <string>
#include <vector>

#include "diviml/serve/serve.hpp"

namespace diviml {

// Where the side files went, relative to the JSON file (empty: not written).
struct ServeFileNames {
  std::string platform;             // the serving platform
  std::vector<std::string> graphs;  // per ServeResult::passes entry
  std::vector<std::string> plans;   // per ServeResult::passes entry
  std::string html;
};

std::string serve_json(const Platform& platform, const ServeRequest& request, const ServeResult& result,
                       const ServeFileNames& files);
// Layouts (ours, the baselines) with tokens/s, TTFT, TPOT, batch and their ratio to ours; then the
// bound; then our pipelines' stages.
std::string serve_table(const Platform& platform, const ServeRequest& request, const ServeResult& result);
std::string serve_html(const Platform& platform, const ServeRequest& request, const ServeResult& result,
                       const ServeFileNames& files);

}  // namespace diviml
