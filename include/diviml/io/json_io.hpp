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

// Bundled data: platforms/*.json and models/**/*.json in one folder, the first of
// $DIVIML_DATA_DIR; the folder set_bundled_data_dir() named (the Python package's own data);
// PREFIX/share/diviml beside an installed PREFIX/bin/diviml; the source tree compiled in.
// $DIVIML_PLATFORMS_DIR, when set, names the platforms' folder alone.
void set_bundled_data_dir(const std::string& dir);
std::string bundled_data_dir();
std::string bundled_platforms_dir();
std::vector<std::string> bundled_platform_names();
// `spec` is a path, or a bundled platform name.
Result<Platform> load_platform(const std::string& spec);
std::string bundled_models_dir();
std::vector<std::string> bundled_model_names();  // e.g. "resnet18", "training/gpt2.train"
// `spec` is a graph file, or a bundled model's name (no .json: "resnet18"): the file's path
// (graph_path), or the graph read from it (load_graph).
Result<std::string> graph_path(const std::string& spec);
Result<Graph> load_graph(const std::string& spec);
// Name of the platform used when --platform is omitted.
inline constexpr const char* kDefaultPlatform = "cpu-2gpu";

}  // namespace diviml
