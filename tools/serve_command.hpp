// `diviml serve` and the model-shape flags it shares with `gen transformer` (docs/serving.md).
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "diviml/core/result.hpp"
#include "diviml/graph/generators.hpp"

namespace diviml::cli {

// A decoder's shape on the command line: --preset first, then any shape flag given overrides it.
struct ModelFlags {
  std::string preset;
  TransformerSpec spec;  // the flags' values (defaults: GPT-2 small's shape)
  std::string dtype, positions;
  CLI::App* command = nullptr;
};
void add_model_flags(CLI::App* command, ModelFlags& flags);
// The shape the flags name, and a one-word description of it for reports.
Result<TransformerSpec> model_from_flags(const ModelFlags& flags, std::string* name = nullptr);

struct ServeArgs {
  ModelFlags model;
  std::string platform, output, html, mode = "auto";
  int prompt = 2048, output_tokens = 256;
  double ttft_ms = 5000, tpot_ms = 100, memory_fraction = 0.9, time_limit_s = 20;
  std::uint64_t seed = 1;
  bool progress = false, quiet = false;
};
CLI::App* add_serve_command(CLI::App& app, ServeArgs& args);
int run_serve(const ServeArgs& args);

}  // namespace diviml::cli
