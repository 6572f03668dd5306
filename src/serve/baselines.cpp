// The baselines (docs/serving.md, "Baselines"), each a fixed layout rule whose batch and
// micro-batches are chosen in the same cost model and under the same SLOs as the search's:
//  homogeneous       one GPU type only, uniform TP x PP replicas, layers split evenly (vLLM or
//                    TensorRT-LLM on the best single type of the fleet);
//  uniform-pipeline  one pipeline over every GPU, TP over each server's GPUs, layers in
//                    proportion to each group's memory;
//  helix-like        one pipeline over every GPU without TP, layers in proportion to each GPU's
//                    compute within its memory (Helix's placement without its per-request routing).
// All serve colocated (prefill and decode on the same GPUs), as those systems do by default.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "serve_model.hpp"

namespace diviml::serve_detail {
namespace {

// Largest-remainder rounding of L layers in proportion to `weight`, at least one each and at most
// `cap` (the surplus goes to the others in proportion). Empty when the caps hold fewer than L.
std::vector<int> proportional(const std::vector<double>& weight, const std::vector<int>& cap, int L) {
  const int S = static_cast<int>(weight.size());
  if (S > L || std::accumulate(cap.begin(), cap.end(), 0L) < L) return {};
  for (int c : cap)
    if (c < 1) return {};
  std::vector<int> l(S, 0);
  std::vector<bool> fixed(S, false);
  int left = L;
  // Water-filling: stages whose share exceeds their cap are fixed at it, the rest share again.
  for (int round = 0; round <= S; ++round) {
    double total = 0;
    for (int s = 0; s < S; ++s)
      if (!fixed[s]) total += weight[s];
    bool changed = false;
    for (int s = 0; s < S; ++s)
      if (!fixed[s] && total > 0 && weight[s] / total * left > cap[s]) {
        fixed[s] = true, l[s] = cap[s], left -= cap[s], changed = true;
      }
    if (!changed) break;
  }
  double total = 0;
  for (int s = 0; s < S; ++s)
    if (!fixed[s]) total += weight[s];
  std::vector<std::pair<double, int>> rest;
  int given = 0;
  for (int s = 0; s < S; ++s) {
    if (fixed[s]) continue;
    const double share = total > 0 ? weight[s] / total * left : 0.0;
    l[s] = std::max(1, static_cast<int>(std::floor(share)));
    given += l[s];
    rest.push_back({share - std::floor(share), s});
  }
  std::sort(rest.begin(), rest.end(), [](auto a, auto b) { return a.first > b.first; });
  for (size_t k = 0; given < left && !rest.empty(); k = (k + 1) % rest.size()) {
    const int s = rest[k].second;
    if (l[s] < cap[s]) ++l[s], ++given;
    if (k + 1 == rest.size() && given < left) {
      bool room = false;
      for (auto [f, x] : rest) room = room || l[x] < cap[x];
      if (!room) return {};
    }
  }
  while (given > left) {  // the at-least-one rule overshot: take back from the largest free stage
    int s = -1;
    for (int x = 0; x < S; ++x)
      if (!fixed[x] && l[x] > 1 && (s < 0 || l[x] > l[s])) s = x;
    if (s < 0) return {};
    --l[s], --given;
  }
  return l;
}

// Weights-only layer capacity of each group (the bound a placement rule works within).
std::vector<int> weight_caps(Model& m, const std::vector<Group>& groups) {
  std::vector<int> cap;
  const int S = static_cast<int>(groups.size());
  for (int s = 0; s < S; ++s) {
    const double extras = (s == 0 ? m.embed_weight_bytes : 0.0) + (s == S - 1 ? m.head_weight_bytes : 0.0);
    const double room = m.capacity_bytes(groups[s].cls) * groups[s].tp - extras;
    cap.push_back(room <= 0 ? 0 : static_cast<int>(std::min<double>(m.layers, room / m.layer_weight_bytes)));
  }
  return cap;
}

ServeLayout single(Model& m, const std::vector<Group>& groups, const std::vector<double>& weight,
                   const std::string& name, const std::string& what) {
  ServeLayout l;
  l.name = name;
  l.note = what;
  const std::vector<int> layers = proportional(weight, weight_caps(m, groups), m.layers);
  if (layers.empty()) {
    l.note += "; the layers do not fit its GPUs' memory";
    return l;
  }
  PipelineOutcome o = evaluate_pipeline(m, PipelineSpec{ServeRole::kColocated, groups, layers});
  if (!o.pipeline) {
    l.note += "; no batch meets the SLOs";
    return l;
  }
  ServeLayout out = combine(m, {*o.pipeline}, name);
  out.note = what;
  return out;
}

}  // namespace

std::vector<ServeLayout> baselines(Model& m) {
  std::vector<ServeLayout> out;
  const int C = static_cast<int>(m.classes.size());
  // Homogeneous: the classes of one GPU type (kind and specs), uniform TP x PP, replicas.
  {
    ServeLayout best;
    best.name = "homogeneous";
    best.note = "no single GPU type holds the model within the SLOs";
    for (const std::vector<int>& same : m.models) {
      const int c0 = same.front();
      for (int tp : m.classes[c0].tps) {
        std::vector<Group> groups;
        for (int c : same) {
          const auto& tps = m.classes[c].tps;
          if (std::find(tps.begin(), tps.end(), tp) == tps.end()) continue;
          for (int i = 0; i < m.groups_of(c, tp); ++i) groups.push_back(Group{c, tp, i});
        }
        const int G = static_cast<int>(groups.size());
        for (int pp = 1; pp <= std::min(G, m.layers); ++pp) {
          std::vector<int> layers(pp, m.layers / pp);
          for (int s = 0; s < m.layers % pp; ++s) ++layers[s];
          std::vector<ServePipeline> pipes;
          for (int rep = 0; rep + 1 <= G / pp; ++rep) {
            PipelineSpec spec{
                ServeRole::kColocated, {groups.begin() + rep * pp, groups.begin() + (rep + 1) * pp}, layers};
            PipelineOutcome o = evaluate_pipeline(m, spec);
            if (o.pipeline) pipes.push_back(*o.pipeline);
          }
          if (pipes.empty()) continue;
          ServeLayout l = combine(m, pipes, "homogeneous");
          if (l.tokens_per_s > best.tokens_per_s) {
            best = std::move(l);
            best.note = std::to_string(G / pp) + " x (TP " + std::to_string(tp) + " x PP " + std::to_string(pp) +
                        ") on " + m.classes[c0].kind + ", layers split evenly";
          }
        }
      }
    }
    out.push_back(std::move(best));
  }
  // One pipeline over every GPU: TP over each server's GPUs, layers in proportion to memory.
  {
    std::vector<Group> groups;
    std::vector<double> memory;
    for (int c = 0; c < C; ++c) {
      const int tp = m.classes[c].tps.back();
      for (int i = 0; i < m.groups_of(c, tp); ++i) {
        groups.push_back(Group{c, tp, i});
        memory.push_back(m.capacity_bytes(c) * tp);
      }
    }
    out.push_back(single(m, groups, memory, "uniform-pipeline",
                         "one pipeline over every GPU, TP over each server's GPUs, layers in proportion to memory"));
  }
  // Helix-like: one pipeline over every GPU without TP, layers in proportion to compute.
  {
    std::vector<Group> groups;
    std::vector<double> compute;
    for (int c = 0; c < C; ++c)
      for (int i = 0; i < static_cast<int>(m.classes[c].gpus.size()); ++i) {
        groups.push_back(Group{c, 1, i});
        compute.push_back(*m.classes[c].spec.peak_gflops);
      }
    out.push_back(single(m, groups, compute, "helix-like",
                         "one pipeline over every GPU without TP, layers in proportion to compute within memory"));
  }
  return out;
}

}  // namespace diviml::serve_detail
