// libFuzzer: a tiny serving problem decoded from the bytes (1 to 4 GPUs in up to 3 servers with
// any figures from tiny to huge, links that may be missing, a decoder of 1 to 4 layers with or
// without GQA and a gated MLP, any prompt, output and objectives, every mode) is served. Either a
// layout whose replayed figures keep the objectives and stay under the bound, and whose every
// plan validates, or a usage, input or no-layout error; never an internal error or a crash.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "bytes.hpp"
#include "diviml/objective/objective.hpp"
#include "diviml/serve/serve.hpp"

namespace {

using diviml::fuzz::Bytes;

void check(bool ok, const std::string& what) {
  if (ok) return;
  std::fprintf(stderr, "serve property violated: %s\n", what.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace diviml;
  Bytes b(data, size);
  Platform p;
  p.name = "fuzz";
  Device host;
  host.name = "cpu";
  host.kind = "cpu";
  host.server = "s0";
  host.peak_gflops = 1000, host.mem_bandwidth_gbps = 100;
  p.devices.push_back(host);
  const int gpus = 1 + static_cast<int>(b.next() % 4);
  for (int i = 0; i < gpus; ++i) {
    Device d;
    d.name = "g" + std::to_string(i);
    d.kind = b.next() % 2 ? "gpu-a" : "gpu-b";
    d.server = "s" + std::to_string(b.next() % 3);
    d.peak_gflops = std::pow(10.0, 1 + b.next() % 7);     // 10 GFLOP/s to 10 PFLOP/s
    d.mem_bandwidth_gbps = std::pow(10.0, b.next() % 5);  // 1 GB/s to 10 TB/s
    d.memory_bytes = std::pow(2.0, 20 + b.next() % 20);   // 1 MiB to 512 GiB
    d.launch_overhead_us = b.next() % 10;
    p.devices.push_back(d);
  }
  if (!p.finalize()) return 0;
  for (int a = 0; a <= gpus; ++a)
    for (int c = a + 1; c <= gpus; ++c)
      if (b.next() % 6 != 0) p.set_link(a, c, Link{static_cast<double>(b.next() % 30), 0.5 + b.next() % 200});
  ServeRequest r;
  r.model.layers = 1 + static_cast<int>(b.next() % 4);
  r.model.heads = 1 << (b.next() % 4);
  r.model.d_model = r.model.heads * 16 * (1 + static_cast<int>(b.next() % 8));
  r.model.kv_heads = r.model.heads >> (b.next() % 3);
  if (r.model.kv_heads < 1) r.model.kv_heads = 1;
  r.model.ffn = b.next() % 2 ? 0 : 64 * (1 + static_cast<int>(b.next() % 16));
  r.model.vocab = 1 + static_cast<int>(b.next()) * 100;
  r.model.bytes_per_value = 1 << (b.next() % 3);
  r.model.learned_positions = b.next() % 2;
  r.prompt = 1 + static_cast<int>(b.next()) * (1 + static_cast<int>(b.next() % 16));
  r.output = 1 + static_cast<int>(b.next());
  r.ttft_ms = std::pow(10.0, -2.0 + (b.next() % 8));  // 0.01 ms to 100 s
  r.tpot_ms = std::pow(10.0, -2.0 + (b.next() % 6));  // 0.01 ms to 1 s
  r.memory_fraction = (1 + b.next() % 10) / 10.0;
  r.mode = b.next() % 3 == 0 ? "colocated" : (b.next() % 2 ? "auto" : "disaggregated");
  r.time_limit_s = 0.2;
  r.seed = b.next();
  Result<ServeResult> res = plan_serving(p, r);
  if (!res) {
    check(res.error().kind != ErrorKind::kInternal, "internal error: " + res.error().message);
    return 0;
  }
  const ServeLayout& l = res->layout;
  check(l.tokens_per_s > 0 && std::isfinite(l.tokens_per_s), "tokens per second not positive and finite");
  check(l.tokens_per_s <= res->bound_tokens_per_s * (1 + 1e-9), "above the bound");
  check(l.tpot_us <= r.tpot_ms * 1e3 * (1 + 1e-9), "TPOT missed");
  check(l.ttft_us <= r.ttft_ms * 1e3 * (1 + 1e-9), "TTFT missed");
  for (const ServePass& pass : res->passes) {
    Result<Problem> problem = Problem::build(pass.problem.graph(), res->serving);
    check(problem.has_value(), "a pass's problem does not build");
    check(static_cast<bool>(find_objective(pass.plan.objective)->validate(*problem, pass.plan)),
          "a pass's plan does not validate");
  }
  for (const ServePipeline& pipe : l.pipelines)
    for (const ServeStage& st : pipe.stages)
      check(st.weights_bytes + st.kv_bytes + st.activation_bytes <= st.capacity_bytes * (1 + 1e-9),
            "a stage over its memory");
  return 0;
}
