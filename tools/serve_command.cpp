// `diviml serve` and the model-shape flags (docs/serving.md).
#include "serve_command.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdio>

#include "cli.hpp"
#include "diviml/io/json_io.hpp"
#include "diviml/report/serve_report.hpp"
#include "diviml/serve/serve.hpp"

namespace diviml::cli {
namespace {

bool given(CLI::App* command, const char* flag) {
  const CLI::Option* o = command->get_option_no_throw(flag);
  return o != nullptr && o->count() > 0;
}

// "out/run.json" -> "out/run"; a name without ".json" stays whole.
std::string stem_of(const std::string& path) {
  const std::string ext = ".json";
  if (path.size() > ext.size() && path.compare(path.size() - ext.size(), ext.size(), ext) == 0)
    return path.substr(0, path.size() - ext.size());
  return path;
}

// A path relative to the JSON file's folder (the side files sit beside it).
std::string base_name(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

void add_model_flags(CLI::App* command, ModelFlags& f) {
  f.command = command;
  std::string presets;
  for (const std::string& n : transformer_preset_names()) presets += (presets.empty() ? "" : ", ") + n;
  command->add_option("--preset", f.preset,
                      "a published decoder's shape (" + presets + "); the shape flags below override its fields");
  command->add_option("--layers", f.spec.layers, "decoder blocks (default 12)")->check(CLI::Range(1, 100000));
  command->add_option("--d-model", f.spec.d_model, "model width (default 768)")->check(CLI::Range(1, 1 << 20));
  command->add_option("--heads", f.spec.heads, "attention heads (default 12)")->check(CLI::Range(1, 1 << 16));
  command
      ->add_option("--kv-heads", f.spec.kv_heads,
                   "key/value heads: grouped-query attention when fewer than --heads (default: --heads)")
      ->check(CLI::Range(1, 1 << 16));
  command
      ->add_option("--ffn", f.spec.ffn,
                   "width of a gated MLP (SwiGLU: gate, up and down matrices); default: GPT's 4 x d-model GELU MLP")
      ->check(CLI::Range(1, 1 << 24));
  command->add_option("--vocab", f.spec.vocab, "vocabulary (default 50257)")->check(CLI::Range(1, 1 << 24));
  command->add_option("--dtype", f.dtype, "weights and activations: fp16 (default), bf16, fp32 or fp8");
  command->add_option("--bytes-per-value", f.spec.bytes_per_value, "bytes per value, as --dtype (2 = fp16)")
      ->check(CLI::Range(1, 8));
  command->add_option("--positions", f.positions, "learned (a position table, GPT's) or rotary (no table, LLaMA's)");
}

Result<TransformerSpec> model_from_flags(const ModelFlags& f, std::string* name) {
  TransformerSpec spec;
  std::string description = "custom";
  if (!f.preset.empty()) {
    Result<TransformerSpec> p = transformer_preset(f.preset);
    if (!p) return p.error();
    spec = *p;
    description = f.preset;
  }
  CLI::App* c = f.command;
  bool changed = false;
  auto take = [&](const char* flag, int& to, int from) {
    if (c != nullptr && given(c, flag)) to = from, changed = true;
  };
  take("--layers", spec.layers, f.spec.layers);
  take("--d-model", spec.d_model, f.spec.d_model);
  take("--heads", spec.heads, f.spec.heads);
  take("--kv-heads", spec.kv_heads, f.spec.kv_heads);
  take("--ffn", spec.ffn, f.spec.ffn);
  take("--vocab", spec.vocab, f.spec.vocab);
  take("--bytes-per-value", spec.bytes_per_value, f.spec.bytes_per_value);
  if (!f.dtype.empty()) {
    if (c != nullptr && given(c, "--bytes-per-value"))
      return usage_error("give --dtype or --bytes-per-value, not both (see diviml --help)");
    if (f.dtype == "fp16" || f.dtype == "bf16")
      spec.bytes_per_value = 2;
    else if (f.dtype == "fp32")
      spec.bytes_per_value = 4;
    else if (f.dtype == "fp8")
      spec.bytes_per_value = 1;
    else
      return usage_error("--dtype '" + f.dtype + "' must be fp16, bf16, fp32 or fp8 (see diviml --help)");
    changed = true;
  }
  if (!f.positions.empty()) {
    if (f.positions != "learned" && f.positions != "rotary")
      return usage_error("--positions '" + f.positions + "' must be learned or rotary (see diviml --help)");
    spec.learned_positions = f.positions == "learned";
    changed = true;
  }
  if (spec.kv_heads > 0 && spec.heads % spec.kv_heads != 0)
    return usage_error("--kv-heads " + std::to_string(spec.kv_heads) + " must divide --heads " +
                       std::to_string(spec.heads) + " (see diviml --help)");
  if (spec.d_model % spec.heads != 0)
    return usage_error("--heads " + std::to_string(spec.heads) + " must divide --d-model " +
                       std::to_string(spec.d_model) + " (see diviml --help)");
  if (name != nullptr) *name = description + (changed && !f.preset.empty() ? " (changed)" : "");
  return spec;
}

CLI::App* add_serve_command(CLI::App& app, ServeArgs& a) {
  auto* cmd = app.add_subcommand(
      "serve",
      "serve a decoder LLM on the platform's GPUs: the layout (tensor parallelism, pipeline stages, batch, prefill "
      "and decode together or apart) with the most output tokens/s within the TTFT and TPOT objectives");
  add_model_flags(cmd, a.model);
  cmd->add_option("--platform,-p", a.platform, "platform name or file (default six-srv)");
  cmd->add_option("--prompt", a.prompt, "tokens of each prompt (default 2048)")->check(CLI::Range(1, 1 << 24));
  cmd->add_option("--output", a.output_tokens, "tokens generated per request, the first by the prefill (default 256)")
      ->check(CLI::Range(1, 1 << 24));
  cmd->add_option("--ttft-ms", a.ttft_ms, "objective on the time to the first token, ms (default 5000)");
  cmd->add_option("--tpot-ms", a.tpot_ms,
                  "objective on the mean time per output token after the first, ms (default 100)");
  cmd->add_option("--memory-fraction", a.memory_fraction, "of each GPU's memory the server may use (default 0.9)");
  cmd->add_option("--mode", a.mode,
                  "auto (default: whichever serves more), colocated (every pipeline prefills and decodes) or "
                  "disaggregated (prefill and decode pipelines apart, KV caches sent between them)");
  cmd->add_option("--time-limit", a.time_limit_s, "seconds for the search (default 20)");
  cmd->add_option("--seed", a.seed, "seed of the search's random moves (default 1)");
  cmd->add_option("--out,-o", a.output,
                  "serving file to write (diviml.serve/1); its platform, graphs and plans go beside it as "
                  "STEM.platform.json, STEM.pI.PHASE.graph.json and STEM.pI.PHASE.plan.json")
      ->required();
  cmd->add_option("--html", a.html, "self-contained HTML report to write");
  auto* quiet = cmd->add_flag("--quiet,-q", a.quiet, "print nothing on success");
  cmd->add_flag("--progress", a.progress, "a status line each second even where stderr is not a terminal")
      ->excludes(quiet);
  cmd->footer(
      "Examples:\n"
      "  diviml serve --preset llama2-70b -p six-srv --prompt 2048 --output 256 --ttft-ms 5000 --tpot-ms 100 \\\n"
      "      -o llama.json --html llama.html\n"
      "  diviml serve --layers 32 --d-model 4096 --heads 32 --kv-heads 8 --ffn 14336 --vocab 128256 \\\n"
      "      --positions rotary -p helix-24 -o llama3.json\n"
      "  for p in llama.p*.plan.json; do diviml validate -g ${p%.plan.json}.graph.json -p llama.platform.json $p; "
      "done");
  return cmd;
}

int run_serve(const ServeArgs& a) {
  ServeRequest req;
  Result<TransformerSpec> spec = model_from_flags(a.model, &req.model_name);
  if (!spec) return die(spec.error());
  req.model = *spec;
  if (a.output == "-") return usage("serve writes several files; give -o a file name, not '-'");
  req.prompt = a.prompt;
  req.output = a.output_tokens;
  req.ttft_ms = a.ttft_ms;
  req.tpot_ms = a.tpot_ms;
  req.memory_fraction = a.memory_fraction;
  req.time_limit_s = a.time_limit_s;
  req.mode = a.mode;
  req.seed = a.seed;
  const bool tty = isatty(fileno(stderr)) != 0;
  if (!a.quiet && (a.progress || tty)) {
    req.progress = [tty](const std::string& line) {
      if (tty)
        std::fprintf(stderr, "\r\033[K%s", line.c_str());
      else
        std::fprintf(stderr, "%s\n", line.c_str());
      std::fflush(stderr);
    };
  }
  Result<Platform> platform = load_platform(a.platform.empty() ? std::string("six-srv") : a.platform);
  if (!platform) return die(platform.error());
  Result<ServeResult> r = plan_serving(*platform, req);
  if (req.progress && tty) std::fprintf(stderr, "\r\033[K");
  if (!r) return die(r.error());

  const std::string stem = stem_of(a.output);
  ServeFileNames names;
  names.platform = base_name(stem) + ".platform.json";
  if (Status s = write_text_file(stem + ".platform.json", platform_to_json(r->serving)); !s) return die(s.error());
  for (const ServePass& pass : r->passes) {
    const std::string side = ".p" + std::to_string(pass.pipeline) + "." + pass.phase;
    if (Status s = write_text_file(stem + side + ".graph.json", graph_to_json(pass.problem.graph())); !s)
      return die(s.error());
    if (Status s = write_text_file(stem + side + ".plan.json", plan_to_json(pass.problem, pass.plan)); !s)
      return die(s.error());
    names.graphs.push_back(base_name(stem) + side + ".graph.json");
    names.plans.push_back(base_name(stem) + side + ".plan.json");
  }
  if (!a.html.empty()) names.html = a.html;
  if (Status s = write_text_file(a.output, serve_json(*platform, req, *r, names)); !s) return die(s.error());
  if (!a.html.empty())
    if (Status s = write_text_file(a.html, serve_html(*platform, req, *r, names)); !s) return die(s.error());
  if (!a.quiet) std::fputs(serve_table(*platform, req, *r).c_str(), stdout);
  return 0;
}

}  // namespace diviml::cli
