// A pipeline's best batch, micro-batches and layer split under the SLOs, and a layout's rates
// (docs/serving.md, "Pipelines" and "Layouts").
#include <algorithm>
#include <cmath>
#include <numeric>

#include "serve_model.hpp"

namespace diviml::serve_detail {
namespace {

// One pass through a pipeline's groups.
struct Chain {
  std::vector<double> tau;    // per stage: one layer
  std::vector<double> extra;  // per stage: embedding / head
  std::vector<double> xfer;   // per stage boundary: the activation's copy
  std::vector<double> live;   // per stage: activations per GPU
  double host_in = 0, host_out = 0;
  bool linked = true;
};

Chain chain_of(Model& m, const std::vector<Group>& groups, const Pass& pass) {
  Chain c;
  const int S = static_cast<int>(groups.size());
  for (int s = 0; s < S; ++s) {
    const PassCost& pc = m.cost(groups[s].cls, groups[s].tp, pass);
    c.tau.push_back(pc.layer_us);
    c.extra.push_back((s == 0 ? pc.embed_us : 0.0) + (s == S - 1 ? pc.head_us : 0.0));
    c.live.push_back(pc.live_bytes);
    if (s + 1 < S) c.xfer.push_back(m.link_us(m.leader(groups[s]), m.leader(groups[s + 1]), pc.act_bytes));
    if (s == 0) c.host_in = m.link_us(m.platform->host, m.leader(groups[s]), pc.host_in_bytes);
    if (s == S - 1) c.host_out = m.link_us(m.leader(groups[s]), m.platform->host, pc.host_out_bytes);
  }
  for (double x : c.xfer) c.linked = c.linked && std::isfinite(x);
  c.linked = c.linked && std::isfinite(c.host_in) && std::isfinite(c.host_out);
  return c;
}

struct Timing {
  double chain = 0;   // one pass end to end (host copies included)
  double period = 0;  // the busiest resource per pass
};

Timing timing(const Chain& c, const std::vector<int>& l) {
  Timing t;
  t.chain = c.host_in + c.host_out;
  t.period = std::max(c.host_in, c.host_out);
  for (size_t s = 0; s < l.size(); ++s) {
    const double stage = l[s] * c.tau[s] + c.extra[s];
    t.chain += stage;
    t.period = std::max(t.period, stage);
  }
  for (double x : c.xfer) {
    t.chain += x;
    t.period = std::max(t.period, x);
  }
  return t;
}

// The split of `L` layers with every stage within `U` and `cap`, at least one layer each, the
// rest on the fastest stages first (the least end-to-end time). Empty when none.
std::vector<int> split_within(const Chain& c, const std::vector<int>& cap, int L, double U) {
  const int S = static_cast<int>(c.tau.size());
  std::vector<int> lim(S);
  long total = 0;
  for (int s = 0; s < S; ++s) {
    const double room = (U - c.extra[s]) / c.tau[s];
    lim[s] = room < 1 ? 0 : static_cast<int>(std::min<double>(cap[s], std::floor(room * (1 + 1e-12))));
    if (lim[s] < 1) return {};
    total += lim[s];
  }
  if (total < L || S > L) return {};
  std::vector<int> l(S, 1), order(S);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return c.tau[a] < c.tau[b]; });
  int left = L - S;
  for (int s : order) {
    const int add = std::min(left, lim[s] - 1);
    l[s] += add;
    left -= add;
  }
  return l;
}

// The split of least max(chain, m x period) within `cap` (m: micro-batches that share the
// pipeline). Empty when no split fits.
std::vector<int> best_split(const Chain& c, const std::vector<int>& cap, int L, int m) {
  const int S = static_cast<int>(c.tau.size());
  double hi = 0;
  for (int s = 0; s < S; ++s) hi = std::max(hi, std::max(1, std::min(cap[s], L)) * c.tau[s] + c.extra[s]);
  hi *= 1 + 1e-9;
  if (split_within(c, cap, L, hi).empty()) return {};
  double lo = 0;
  for (int it = 0; it < 60 && hi - lo > 1e-9 * hi; ++it) {
    const double mid = 0.5 * (lo + hi);
    (split_within(c, cap, L, mid).empty() ? lo : hi) = mid;
  }
  const double u_min = hi;
  auto cost = [&](const std::vector<int>& l) {
    const Timing t = timing(c, l);
    return std::max(t.chain, m * t.period);
  };
  std::vector<int> best = split_within(c, cap, L, u_min);
  double best_cost = cost(best);
  // Above U the end-to-end time only falls and m x period only grows: the best is where they cross.
  double a = u_min, b = 0;
  for (int s = 0; s < S; ++s) b = std::max(b, std::min(cap[s], L) * c.tau[s] + c.extra[s]);
  b = std::max(b, a) * (1 + 1e-9);
  for (int it = 0; it < 60 && b - a > 1e-9 * b; ++it) {
    const double mid = 0.5 * (a + b);
    auto l = split_within(c, cap, L, mid);
    const Timing t = timing(c, l);
    (m * t.period >= t.chain ? b : a) = mid;
  }
  for (double u : {a, b}) {
    auto l = split_within(c, cap, L, u);
    if (l.empty()) continue;
    const double v = cost(l);
    if (v < best_cost) best_cost = v, best = std::move(l);
  }
  return best;
}

// Per stage, the most layers its GPUs hold: weights, `seq_kv` bytes of cache per layer, and
// `live` activations per GPU.
std::vector<int> layer_caps(Model& m, const std::vector<Group>& groups, double kv_layer_bytes,
                            const std::vector<double>& live) {
  const int S = static_cast<int>(groups.size());
  std::vector<int> cap(S);
  for (int s = 0; s < S; ++s) {
    const double t = groups[s].tp;
    const double extras = (s == 0 ? m.embed_weight_bytes : 0.0) + (s == S - 1 ? m.head_weight_bytes : 0.0);
    const double room = (m.capacity_bytes(groups[s].cls) - live[s]) * t - extras;
    const double per_layer = m.layer_weight_bytes + kv_layer_bytes;
    cap[s] = room <= 0 ? 0 : static_cast<int>(std::min<double>(m.layers, std::floor(room / per_layer)));
  }
  return cap;
}

bool fits(const std::vector<int>& l, const std::vector<int>& cap) {
  if (l.empty()) return false;
  for (size_t s = 0; s < l.size(); ++s)
    if (l[s] < 1 || l[s] > cap[s]) return false;
  return true;
}

// Fills the stages of `p` from the split and per-GPU memory.
void fill_stages(Model& m, ServePipeline& p, const std::vector<Group>& groups, const std::vector<int>& l,
                 double kv_layer_bytes, const std::vector<double>& live, const Chain* dec, const Chain* pre) {
  const int S = static_cast<int>(groups.size());
  p.stages.clear();
  int first = 0;
  for (int s = 0; s < S; ++s) {
    const GpuClass& c = m.classes[groups[s].cls];
    ServeStage st;
    st.server = c.server, st.kind = c.kind, st.tp = groups[s].tp, st.devices = m.gpus(groups[s]);
    st.first_layer = first, st.layers = l[s];
    st.embed = s == 0, st.head = s == S - 1;
    const double t = groups[s].tp;
    st.weights_bytes = (l[s] * m.layer_weight_bytes + (st.embed ? m.embed_weight_bytes : 0.0) +
                        (st.head ? m.head_weight_bytes : 0.0)) /
                       t;
    st.kv_bytes = l[s] * kv_layer_bytes / t;
    st.activation_bytes = live[s];
    st.capacity_bytes = m.capacity_bytes(groups[s].cls);
    if (dec) st.decode_us = l[s] * dec->tau[s] + dec->extra[s];
    if (pre) st.prefill_us = l[s] * pre->tau[s] + pre->extra[s];
    p.stages.push_back(std::move(st));
    first += l[s];
  }
}

// Prefill pipelines: the most prompts per second whose one batch's time meets the TTFT.
PipelineOutcome prefill_pipeline(Model& m, const PipelineSpec& spec) {
  PipelineOutcome out;
  const ServeRequest& r = *m.request;
  const double ttft = r.ttft_ms * 1e3;
  double best_rate = 0;
  for (int bp : kPrefillBatches) {
    const Chain c = chain_of(m, spec.groups, m.prefill_pass(bp));
    if (!c.linked) return out;
    // The KV of two batches per stage: the one computing and the one leaving for decode.
    const std::vector<int> cap = layer_caps(m, spec.groups, 2.0 * bp * r.prompt * m.kv_token_layer_bytes, c.live);
    std::vector<int> l = spec.fixed_layers.empty() ? best_split(c, cap, m.layers, 1000000) : spec.fixed_layers;
    if (!fits(l, cap)) continue;
    Timing t = timing(c, l);
    if (spec.fixed_layers.empty() && t.chain > ttft) {
      // A longer period buys a shorter chain (more layers on the faster stages).
      double lo = t.period, hi = 0;
      for (size_t s = 0; s < l.size(); ++s) hi = std::max(hi, cap[s] * c.tau[s] + c.extra[s]);
      auto at = split_within(c, cap, m.layers, hi);
      if (!at.empty() && timing(c, at).chain <= ttft) {
        for (int it = 0; it < 60; ++it) {
          const double mid = 0.5 * (lo + hi);
          auto x = split_within(c, cap, m.layers, mid);
          (!x.empty() && timing(c, x).chain <= ttft ? hi : lo) = mid;
        }
        l = split_within(c, cap, m.layers, hi);
        t = timing(c, l);
      }
    }
    out.least_ttft_us = std::min(out.least_ttft_us, t.chain);
    if (t.chain > ttft) continue;
    const double rate = bp * 1e6 / t.period;
    if (rate <= best_rate) continue;
    best_rate = rate;
    ServePipeline p;
    p.role = ServeRole::kPrefill;
    p.prefill_batch = bp;
    p.prefill_latency_us = t.chain, p.prefill_period_us = t.period;
    p.ttft_us = t.chain;
    p.requests_per_s = rate;
    p.tokens_per_s = rate * r.output;
    fill_stages(m, p, spec.groups, l, 2.0 * bp * r.prompt * m.kv_token_layer_bytes, c.live, nullptr, &c);
    out.pipeline = std::move(p);
  }
  return out;
}

// Decode and colocated pipelines: for each micro-batch count, the largest batch that meets the
// SLOs and memory (tokens per second grow with the batch: the weights are read once per step).
PipelineOutcome decode_pipeline(Model& m, const PipelineSpec& spec) {
  PipelineOutcome out;
  const ServeRequest& r = *m.request;
  const bool colocated = spec.role == ServeRole::kColocated;
  const double tpot_slo = r.tpot_ms * 1e3, ttft_slo = r.ttft_ms * 1e3;
  const int S = static_cast<int>(spec.groups.size());
  const double steps = r.output - 1;  // decode steps per request
  // The most sequences the pipeline's memory could hold beside one copy of the weights.
  double kv_room = 0;
  for (const Group& g : spec.groups) kv_room += m.capacity_bytes(g.cls) * g.tp;
  kv_room -= m.weights_bytes();
  if (kv_room <= 0) return out;
  const double seq_bytes = m.kv_sequence_layer_bytes() * m.layers;
  const int most_sequences = static_cast<int>(std::min(1e6, std::floor(kv_room / seq_bytes)));
  if (most_sequences < 1) return out;

  struct Try {
    bool ok = false;
    double tpot = kInf, ttft = kInf, tokens = 0;
    std::vector<int> l;
    Timing dec, pre;
  };
  double best_tokens = 0;
  const std::vector<int> bps =
      colocated ? std::vector<int>(std::begin(kColocatedPrefillBatches), std::end(kColocatedPrefillBatches))
                : std::vector<int>{0};
  for (int bp : bps) {
    std::optional<Chain> pre;
    if (colocated) {
      pre = chain_of(m, spec.groups, m.prefill_pass(bp));
      if (!pre->linked) return out;
    }
    // Per GPU of each stage: the activations of a decode micro-batch or of a prefill pass.
    auto live_of = [&](const Chain& dec) {
      std::vector<double> live = dec.live;
      if (pre)
        for (int s = 0; s < S; ++s) live[s] = std::max(live[s], pre->live[s]);
      return live;
    };
    const int most_micro = std::min(S + 2, 32);
    for (int micro = 1; micro <= most_micro; ++micro) {
      auto attempt = [&](int b) {
        Try t;
        const Chain dec = chain_of(m, spec.groups, m.decode_pass(b));
        if (!dec.linked) return t;
        const std::vector<double> live = live_of(dec);
        const double batch = static_cast<double>(b) * micro;
        const std::vector<int> cap = layer_caps(m, spec.groups, batch * m.kv_sequence_layer_bytes(), live);
        t.l = spec.fixed_layers.empty() ? best_split(dec, cap, m.layers, micro) : spec.fixed_layers;
        if (!fits(t.l, cap)) return t;
        t.dec = timing(dec, t.l);
        const double iteration = std::max(t.dec.chain, micro * t.dec.period);
        t.tpot = iteration;
        t.ttft = 0;
        if (pre) {
          t.pre = timing(*pre, t.l);
          // Every decode step, batch / steps prompts arrive; each prefill pass pauses the steps.
          t.tpot = iteration + batch / steps * t.pre.chain / bp;
          t.ttft = iteration + t.pre.chain;
        }
        out.least_tpot_us = std::min(out.least_tpot_us, t.tpot);
        if (pre) out.least_ttft_us = std::min(out.least_ttft_us, t.ttft);
        t.ok = t.tpot <= tpot_slo && (!pre || t.ttft <= ttft_slo);
        t.tokens = batch / t.tpot * 1e6 * r.output / steps;
        return t;
      };
      Try lo = attempt(1);
      if (!lo.ok) {
        if (micro > 1 && lo.tpot > tpot_slo) break;  // more micro-batches only lengthen the iteration
        continue;
      }
      int a = 1, b = std::max(1, most_sequences / micro);
      Try best = lo;
      if (Try top = attempt(b); top.ok) {
        best = top;
        a = b;
      } else {
        while (b - a > 1) {
          const int mid = a + (b - a) / 2;
          Try t = attempt(mid);
          if (t.ok) {
            a = mid;
            best = std::move(t);
          } else {
            b = mid;
          }
        }
      }
      if (best.tokens <= best_tokens) continue;
      best_tokens = best.tokens;
      ServePipeline p;
      p.role = spec.role;
      p.batch = a * micro, p.micro_batches = micro, p.prefill_batch = colocated ? bp : 0;
      p.decode_step_us = best.dec.chain, p.decode_period_us = best.dec.period;
      p.tpot_us = best.tpot;
      if (colocated) {
        p.prefill_latency_us = best.pre.chain, p.prefill_period_us = best.pre.period;
        p.ttft_us = best.ttft;
      }
      p.tokens_per_s = best.tokens;
      p.requests_per_s = best.tokens / r.output;
      const Chain dec = chain_of(m, spec.groups, m.decode_pass(a));
      fill_stages(m, p, spec.groups, best.l, p.batch * m.kv_sequence_layer_bytes(), live_of(dec), &dec,
                  pre ? &*pre : nullptr);
      out.pipeline = std::move(p);
    }
  }
  return out;
}

}  // namespace

PipelineOutcome evaluate_pipeline(Model& m, const PipelineSpec& spec) {
  if (spec.groups.empty() || static_cast<int>(spec.groups.size()) > m.layers) return {};
  if (!spec.fixed_layers.empty() && spec.fixed_layers.size() != spec.groups.size()) return {};
  return spec.role == ServeRole::kPrefill ? prefill_pipeline(m, spec) : decode_pipeline(m, spec);
}

std::vector<Group> groups_of(const Model& m, const ServePipeline& p) {
  std::vector<Group> out;
  for (const ServeStage& st : p.stages) {
    for (size_t c = 0; c < m.classes.size(); ++c) {
      const auto& g = m.classes[c].gpus;
      auto it = std::find(g.begin(), g.end(), st.devices.front());
      if (it == g.end()) continue;
      out.push_back(Group{static_cast<int>(c), st.tp, static_cast<int>(it - g.begin()) / st.tp});
    }
  }
  return out;
}

void settle(const ServeRequest& r, ServePipeline& p) {
  const double steps = r.output - 1;
  if (p.role == ServeRole::kPrefill) {
    p.ttft_us = p.prefill_latency_us;
    p.requests_per_s = p.prefill_batch * 1e6 / p.prefill_period_us;
    p.tokens_per_s = p.requests_per_s * r.output;
    return;
  }
  const double iteration = std::max(p.decode_step_us, p.micro_batches * p.decode_period_us);
  p.tpot_us = iteration;
  p.ttft_us = 0;
  if (p.role == ServeRole::kColocated) {
    p.tpot_us += p.batch / steps * p.prefill_latency_us / p.prefill_batch;
    p.ttft_us = iteration + p.prefill_latency_us;
  }
  p.requests_per_s = p.batch / p.tpot_us * 1e6 / steps;
  p.tokens_per_s = p.requests_per_s * r.output;
}

ServeLayout combine(Model& m, std::vector<ServePipeline> pipelines, const std::string& name) {
  const ServeRequest& r = *m.request;
  ServeLayout out;
  out.name = name;
  double colocated = 0, prefill = 0, decode = 0;
  std::vector<int> decode_leaders;
  for (const ServePipeline& p : pipelines)
    if (p.role == ServeRole::kDecode)
      for (const ServeStage& st : p.stages) decode_leaders.push_back(st.devices.front());
  for (ServePipeline& p : pipelines) {
    if (p.role == ServeRole::kPrefill) {
      // Each stage sends its layers' KV cache of a batch to a decode group, its GPUs in parallel
      // over their own links: priced on the slowest link to any decode group.
      p.kv_send_us = decode_leaders.empty() ? kInf : 0.0;
      for (const ServeStage& st : p.stages) {
        const double bytes =
            st.layers * p.prefill_batch * static_cast<double>(r.prompt) * m.kv_token_layer_bytes / st.tp;
        for (int d : decode_leaders) p.kv_send_us = std::max(p.kv_send_us, m.link_us(st.devices.front(), d, bytes));
      }
      const double period = std::max(p.prefill_period_us, p.kv_send_us);
      p.requests_per_s = std::isfinite(period) ? p.prefill_batch * 1e6 / period : 0.0;
      p.tokens_per_s = p.requests_per_s * r.output;
      prefill += p.requests_per_s;
    } else if (p.role == ServeRole::kDecode) {
      decode += p.requests_per_s;
    } else {
      colocated += p.requests_per_s;
    }
  }
  const double handed = std::min(prefill, decode);
  for (ServePipeline& p : pipelines) {
    // Prefill and decode pipelines serve what the other side keeps up with.
    const double share = p.role == ServeRole::kPrefill  ? (prefill > 0 ? handed / prefill : 0.0)
                         : p.role == ServeRole::kDecode ? (decode > 0 ? handed / decode : 0.0)
                                                        : 1.0;
    p.requests_per_s *= share;
    p.tokens_per_s *= share;
    if (p.requests_per_s <= 0) continue;
    out.batch += p.batch;
    if (p.role != ServeRole::kDecode) out.ttft_us = std::max(out.ttft_us, p.ttft_us);
    if (p.role != ServeRole::kPrefill) out.tpot_us = std::max(out.tpot_us, p.tpot_us);
  }
  out.requests_per_s = colocated + handed;
  out.tokens_per_s = out.requests_per_s * r.output;
  out.pipelines = std::move(pipelines);
  return out;
}

}  // namespace diviml::serve_detail
