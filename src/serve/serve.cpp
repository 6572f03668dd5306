// plan_serving: baselines, search, plans replayed, bound (docs/serving.md).
#include <chrono>
#include <cmath>
#include <cstdio>

#include "diviml/objective/objective.hpp"
#include "diviml/objective/throughput.hpp"
#include "serve_model.hpp"

namespace diviml {
namespace {

using serve_detail::Model;

std::string ms(double us) {
  char b[48];
  std::snprintf(b, sizeof b, "%.4g ms", us / 1e3);
  return b;
}

// Replays every pass of the layout's pipelines on the serving platform, validates the plans, and
// takes the layout's timings and activations from them.
Status realize(Model& m, ServeLayout& layout, ServeResult& res) {
  const ServeRequest& r = *m.request;
  res.serving = serving_platform(*m.platform, r, layout);
  const std::vector<std::vector<int>> devices = serve_detail::stage_devices(layout);
  const Objective& latency = latency_objective();
  const Objective& throughput = *find_objective("throughput");
  for (size_t i = 0; i < layout.pipelines.size(); ++i) {
    ServePipeline& p = layout.pipelines[i];
    for (const bool decode : {true, false}) {
      if (decode && p.role == ServeRole::kPrefill) continue;
      if (!decode && p.role == ServeRole::kDecode) continue;
      Result<Graph> g = serve_detail::pass_graph(m, res.serving, p, devices[i], decode);
      if (!g) return internal_error("serve: pipeline " + std::to_string(i) + ": " + g.error().message);
      Result<Problem> pr = Problem::build(std::move(*g), res.serving);
      if (!pr) return internal_error("serve: pipeline " + std::to_string(i) + ": " + pr.error().message);
      Mapping mp = serve_detail::pass_mapping(*pr, devices[i]);
      const bool stream = decode || p.role == ServeRole::kPrefill;
      if (decode) mp.pace_us = std::max(p.decode_step_us, p.micro_batches * p.decode_period_us) / p.micro_batches;
      const Objective& obj = stream ? throughput : latency;
      Result<Plan> plan = stream ? pipeline_replay(*pr, mp) : obj.evaluate(*pr, mp);
      if (!plan) return internal_error("serve: pipeline " + std::to_string(i) + ": " + plan.error().message);
      plan->solver = "serve";
      plan->status = PlanStatus::kHeuristic;
      plan->lower_bound_us = obj.quick_bound(*pr);
      plan->notes.push_back(std::string(decode ? "decode step" : "prefill pass") + " of pipeline " + std::to_string(i) +
                            " (" + to_string(p.role) + ") of the serving layout");
      if (Status s = obj.validate(*pr, *plan); !s)
        return internal_error("serve: pipeline " + std::to_string(i) + "'s " + (decode ? "decode" : "prefill") +
                              " plan does not validate: " + s.error().message);
      const std::vector<double> transient = obj.transient_bytes(*pr, *plan);
      for (size_t s = 0; s < p.stages.size() && !transient.empty(); ++s)
        p.stages[s].activation_bytes =
            std::max(p.stages[s].activation_bytes, transient[devices[i][s]] / p.stages[s].tp);
      if (decode) {
        p.decode_step_us = plan->latency_us;
        p.decode_period_us = plan->period_us;
      } else if (stream) {
        p.prefill_latency_us = plan->latency_us;
        p.prefill_period_us = plan->period_us;
      } else {
        p.prefill_latency_us = plan->makespan_us;
      }
      res.passes.push_back(
          ServePass{decode ? "decode" : "prefill", static_cast<int>(i), std::move(*pr), std::move(*plan)});
    }
    serve_detail::settle(r, p);
  }
  layout = serve_detail::combine(m, std::move(layout.pipelines), layout.name);
  return {};
}

}  // namespace

Result<ServeResult> plan_serving(const Platform& platform, const ServeRequest& request) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };
  Result<Model> model = Model::build(platform, request);
  if (!model) return model.error();
  Model& m = *model;
  ServeResult res;
  res.context = m.context;
  res.weights_bytes = m.weights_bytes();
  res.kv_bytes_per_token = m.kv_token_layer_bytes * m.layers;
  res.baselines = serve_detail::baselines(m);
  // The bound first (up to a second on the bundled fleets): the search gets what time is left.
  res.bound_tokens_per_s = serve_detail::tokens_bound(m);
  double least_tpot = kInf, least_ttft = kInf;
  // The plans' replays take the last part of the time (0.1 to 0.8 s on the bundled fleets, about
  // 40 ms a pipeline).
  const double budget = std::max(0.05, std::min(0.75 * request.time_limit_s, request.time_limit_s - 0.6) - elapsed());
  ServeLayout best = serve_detail::search_layout(m, res.baselines, budget, &res.evaluations, &least_tpot, &least_ttft);
  // The baselines serve colocated: under --mode disaggregated they are yardsticks only.
  for (const ServeLayout& b : res.baselines)
    if (request.mode != "disaggregated" && b.tokens_per_s > best.tokens_per_s * (1 + 1e-12)) {
      best = b;
      best.name = "diviml";
      best.note = "the " + b.name + " layout (" + b.note + ") is the best found";
    }
  if (best.tokens_per_s <= 0) {
    std::string why = "no layout meets --ttft-ms " + ms(request.ttft_ms * 1e3).substr(0) + " and --tpot-ms " +
                      ms(request.tpot_ms * 1e3) + " on platform '" + platform.name + "'";
    if (std::isfinite(least_tpot) || std::isfinite(least_ttft))
      why += ": the least TPOT found is " + (std::isfinite(least_tpot) ? ms(least_tpot) : std::string("none")) +
             ", the least TTFT " + (std::isfinite(least_ttft) ? ms(least_ttft) : std::string("none"));
    else
      why += ": no pipeline of its GPUs holds the model with one sequence's KV cache";
    return infeasible(why);
  }
  if (Status s = realize(m, best, res); !s) return s.error();
  // The replays (transfers on the serving platform's links) must keep what the search promised.
  if (best.tpot_us > request.tpot_ms * 1e3 * (1 + 1e-9) || best.ttft_us > request.ttft_ms * 1e3 * (1 + 1e-9))
    return internal_error("serve: the plans of the layout found miss the objectives (TPOT " + ms(best.tpot_us) +
                          ", TTFT " + ms(best.ttft_us) + ")");
  res.layout = std::move(best);
  // A proof is a promise: nothing found may beat it.
  for (const ServeLayout* l : {&res.layout}) {
    if (l->tokens_per_s > res.bound_tokens_per_s * (1 + 1e-9))
      return internal_error("serve: the layout's " + std::to_string(l->tokens_per_s) + " tokens/s beat the bound " +
                            std::to_string(res.bound_tokens_per_s));
  }
  for (const ServeLayout& b : res.baselines)
    if (b.tokens_per_s > res.bound_tokens_per_s * (1 + 1e-9))
      return internal_error("serve: baseline " + b.name + " beats the bound");
  res.solve_time_s = elapsed();
  for (ServePass& pass : res.passes) pass.plan.solve_time_s = res.solve_time_s;  // the plans came out of this solve
  return res;
}

}  // namespace diviml
