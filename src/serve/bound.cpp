// The proven upper bound on output tokens per second (docs/serving.md, "The bound").
//
// Every request needs one prefill of its prompt through every layer and output - 1 decode steps
// through every layer. On a GPU d, one layer of one prompt's prefill takes at least a_d (each op's
// FLOPs over peak or its bytes beyond the weights over bandwidth, whichever is more) and one layer
// of one token's decode step at least c_d (the same with the weights read once per batch of at
// most B_max sequences: the most that the fleet's memory holds beside one copy of the weights).
// Tensor parallelism splits an op's FLOPs and bytes at best evenly, so a group's GPUs together
// spend at least what one GPU would; all-reduces, launches, copies, the embedding and the head
// only add. A fleet that spends a fraction f_d of each GPU's time on prefill serves at most R
// requests per second with sum f_d / a_d >= layers x R and sum (1 - f_d) / c_d >= layers x
// (output - 1) x R; the most R over all f is found exactly (the fractional problem is solved by
// giving prefill to the GPUs in order of c_d / a_d). The bound is output x R.
//
// A second bound comes from the TPOT objective and the KV cache (tpot_memory_bound below); the
// result is the lesser of the two.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "serve_model.hpp"

namespace diviml::serve_detail {
namespace {

// One layer's ops on one GPU, with each op's weights counted `weight_share` times.
double layer_floor_us(const Graph& g, const Device& d, double weight_share) {
  double us = 0;
  for (const Node& v : g.nodes) {
    if (v.id.rfind("l0.", 0) != 0) continue;
    const double flops = v.flops.value_or(0);
    const double bytes = std::max(0.0, v.bytes_accessed.value_or(0) - v.param_bytes) + weight_share * v.param_bytes;
    us += std::max(flops / (*d.peak_gflops * 1e3), bytes / (*d.mem_bandwidth_gbps * 1e3));
  }
  return us;
}

// Every decoding sequence keeps, for each layer, its KV cache (kv bytes, room for prompt + output)
// on the GPU group that runs the layer for it, and one decode step of it takes at least
// tau_g per layer on group g: the cost model's time of one layer for a micro-batch of one sequence
// (a larger micro-batch only takes longer), at the group's best TP degree; the step also runs the
// embedding and the head once (the least any group takes for them). With N sequences decoding and s_g of their
// sequence-layers on class g (largest TP, the least tau): sum s_g = L x N; a GPU's memory holds the weights of the
// layers it runs (at least s_g / N of them, none serving more than N sequences) and their caches,
// s_g (w / N + kv) <= M_g; each sequence's step T = sum of its layers' tau is at most the TPOT, so
// sum s_g tau_g <= N x TPOT. Tokens per second are output / (output - 1) x sum over sequences of
// 1 / T, and on [T_min, TPOT] 1 / T lies below its chord, linear in T: so for each N the bound is
// N x chord(T_min) + slope x (the least sum s_g tau_g, filling the fastest classes first), and the
// bound is its most over N. (No sequence decodes faster than T_min = L x the least tau.)
double tpot_memory_bound(Model& m) {
  const ServeRequest& r = *m.request;
  const double w = m.layer_weight_bytes, kv = m.kv_sequence_layer_bytes(), L = m.layers;
  // A step's embedding and head run once per step wherever they are: the least of any group.
  double embed = kInf, head = kInf;
  struct Cls {
    double tau, memory;
  };
  std::vector<Cls> cls;
  for (size_t c = 0; c < m.classes.size(); ++c) {
    const GpuClass& g = m.classes[c];
    double tau = kInf, live = kInf;
    for (int tp : g.tps) {
      const PassCost& one = m.cost(static_cast<int>(c), tp, m.decode_pass(1));
      tau = std::min(tau, one.layer_us);
      live = std::min(live, one.live_bytes);
      embed = std::min(embed, one.embed_us);
      head = std::min(head, one.head_us);
    }
    // A GPU in use holds at least one micro-batch's activations; one not in use holds nothing,
    // and counting its memory less those activations only overstates what the class holds.
    const double per_gpu = std::max(0.0, m.capacity_bytes(static_cast<int>(c)) - live);
    cls.push_back(Cls{tau, per_gpu * static_cast<double>(g.gpus.size())});
  }
  const double tpot = r.tpot_ms * 1e3 - embed - head;
  if (tpot <= 0) return 0;
  std::sort(cls.begin(), cls.end(), [](const Cls& a, const Cls& b) { return a.tau < b.tau; });
  const double t_min = L * cls.front().tau;
  if (t_min > tpot) return 0;  // no sequence meets the TPOT
  // 1 / T <= 1 / t_min + slope x (T - t_min) on [t_min, tpot].
  const double slope = tpot > t_min ? (1 / tpot - 1 / t_min) / (tpot - t_min) : 0;
  // The embedding's and the head's weights sit in some class each: the bound is the most over
  // where (each choice leaves the others' memory whole).
  const int K = static_cast<int>(cls.size());
  double best = 0;
  for (int ce = 0; ce < K; ++ce)
    for (int ch = 0; ch < K; ++ch) {
      std::vector<Cls> room = cls;
      room[ce].memory -= m.embed_weight_bytes;
      room[ch].memory -= m.head_weight_bytes;
      if (room[ce].memory < 0 || room[ch].memory < 0) continue;
      int misses = 0;
      for (double n = 1; n <= 1e7; n += 1) {
        double need = L * n, time = 0;
        for (const Cls& c : room) {
          const double s = std::min(need, c.memory / (w / n + kv));
          need -= s, time += s * c.tau;
          if (need <= 0) break;
        }
        if (need > 1e-9 * L * n || time > n * tpot * (1 + 1e-12)) {
          if (++misses > 64) break;  // memory or TPOT rules out every larger N
          continue;
        }
        misses = 0;
        best = std::max(best, n / t_min + slope * (time - n * t_min));
      }
    }
  return best * 1e6 * r.output / std::max(1, r.output - 1);
}

}  // namespace

double tokens_bound(Model& m) {
  const ServeRequest& r = *m.request;
  double memory = 0;
  for (size_t c = 0; c < m.classes.size(); ++c)
    memory += m.capacity_bytes(static_cast<int>(c)) * m.classes[c].gpus.size();
  const double most_batch =
      std::max(1.0, std::floor((memory - m.weights_bytes()) / (m.kv_sequence_layer_bytes() * m.layers)));
  const Graph& prefill = m.layer_graph(m.prefill_pass(1));
  const Graph& decode = m.layer_graph(m.decode_pass(1));
  const int B = static_cast<int>(std::min(most_batch, 1e6));
  struct Gpu {
    double a, c;  // microseconds per layer: one prompt's prefill, one token's decode step
  };
  std::vector<Gpu> gpus;
  for (size_t k = 0; k < m.classes.size(); ++k) {
    const GpuClass& cls = m.classes[k];
    // Decode: one GPU's time for a layer of a micro-batch of B over B (per token, it only grows
    // for smaller micro-batches; a group of tp GPUs spends at least as much GPU time).
    const double c = std::max(layer_floor_us(decode, cls.spec, 1.0 / most_batch),
                              m.cost(static_cast<int>(k), 1, m.decode_pass(B)).layer_us / B);
    const Gpu g{layer_floor_us(prefill, cls.spec, 0.0), c};
    for (size_t i = 0; i < cls.gpus.size(); ++i) gpus.push_back(g);
  }
  // Prefill first on the GPUs relatively best at it.
  std::sort(gpus.begin(), gpus.end(), [](const Gpu& x, const Gpu& y) { return x.c / x.a > y.c / y.a; });
  const double L = m.layers, steps = r.output - 1;
  // Whether R requests per second (layer-units per microsecond below) can be served.
  auto feasible = [&](double R) {
    double need = L * R;  // prefill layer-prompts per microsecond
    double decode = 0;
    for (const Gpu& g : gpus) {
      const double full = 1.0 / g.a;
      const double f = need <= 0 ? 0.0 : std::min(1.0, need / full);
      need -= f * full;
      decode += (1 - f) / g.c;
    }
    return need <= 1e-15 * L * R && decode >= L * steps * R;
  };
  double hi = 0;
  for (const Gpu& g : gpus) hi += 1.0 / g.a;
  hi /= L;
  double lo = 0;
  for (int it = 0; it < 200 && hi - lo > 1e-13 * hi; ++it) {
    const double mid = 0.5 * (lo + hi);
    (feasible(mid) ? lo : hi) = mid;
  }
  // hi is feasible-or-above: never below the optimum.
  return std::min(hi * 1e6 * r.output, r.output > 1 ? tpot_memory_bound(m) : kInf);
}

}  // namespace diviml::serve_detail
