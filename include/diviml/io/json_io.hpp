// Readers and writers for the interchange files (../shared/spec/interchange.md,
// docs/formats.md). Every error is one line that starts with the file name and names the
// node, edge, device or field at fault. Unknown fields are ignored (forward compatible).
#pragma once

#include <cstddef>
#include <istream>
#include <string>
#include <vector>

#include "diviml/core/result.hpp"
#include "diviml/graph/graph.hpp"
#include "diviml/objective/plan.hpp"
#include "diviml/platform/platform.hpp"

namespace diviml {

// `source` names the input in messages (a path, or "<stdin>").
Result<Graph> parse_graph(const std::string& text, const std::string& source);
Result<Platform> parse_platform(const std::string& text, const std::string& source);
// Plan files name nodes and devices; they are resolved against the problem.
Result<Plan> parse_plan(const std::string& text, const std::string& source, const Problem& problem);

Result<Graph> read_graph_file(const std::string& path);
Result<Platform> read_platform_file(const std::string& path);
Result<Plan> read_plan_file(const std::string& path, const Problem& problem);

std::string graph_to_json(const Graph& graph);
std::string platform_to_json(const Platform& platform);
std::string plan_to_json(const Problem& problem, const Plan& plan);
// Whether every time of a plan fits what plan files hold (1e18 in magnitude, as every number the
// readers take): a plan beyond it would be written and never read back (an input error: the
// graph's or platform's figures make it so).
Status plan_fits_files(const Plan& plan);

// Input files (and standard input) are read up to kMaxInputFileBytes (a 100,000-op graph is about
// 30 MB): a larger one is an input error, refused before it is read where the file has a size
// (a regular file), at the limit otherwise (a pipe, /dev/zero).
inline constexpr std::size_t kMaxInputFileBytes = std::size_t{256} << 20;
Result<std::string> read_text_file(const std::string& path);
Result<std::string> read_text_stream(std::istream& in, const std::string& name);
Status write_text_file(const std::string& path, const std::string& text);

// Bundled platforms live in platforms/*.json. The folder is $DIVIML_PLATFORMS_DIR when set,
// else the one compiled in (the source tree). `spec` is a path, or a bundled platform name.
std::string bundled_platforms_dir();
std::vector<std::string> bundled_platform_names();
Result<Platform> load_platform(const std::string& spec);
// Name of the platform used when --platform is omitted.
inline constexpr const char* kDefaultPlatform = "cpu-2gpu";

}  // namespace diviml
