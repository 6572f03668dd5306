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
// The same with the TPOT (fluid_tpot_bound), the TPOT objective and the KV cache
// (tpot_memory_bound) and pipelines as units (pipeline_bound) give three more; the result is the
// least of the four.
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

// What the parts of the bound read of each GPU class, computed once.
struct ClassFigures {
  double gpus = 0;      // in the class
  double a = 0, c = 0;  // fluid: one GPU's layer of one prompt's prefill, of one token's decode
  double tau = 0;       // a layer of a one-sequence decode step, at the class's best TP degree
  double capacity = 0;  // the class's memory (memory_fraction applied)
  double memory = 0;    // the same less one micro-batch's activations per GPU (the least of any TP)
};
struct Figures {
  std::vector<ClassFigures> cls;
  double ends = kInf;  // the least embedding and the least head of a one-sequence step, summed
};

Figures figures_of(Model& m, double most_batch) {
  const Graph& prefill = m.layer_graph(m.prefill_pass(1));
  const Graph& decode = m.layer_graph(m.decode_pass(1));
  const int B = static_cast<int>(std::min(most_batch, 1e6));
  Figures f;
  double embed = kInf, head = kInf;
  for (size_t k = 0; k < m.classes.size(); ++k) {
    const GpuClass& g = m.classes[k];
    const int cls = static_cast<int>(k);
    ClassFigures x;
    x.gpus = static_cast<double>(g.gpus.size());
    x.a = layer_floor_us(prefill, g.spec, 0.0);
    // Decode: one GPU's time for a layer of a micro-batch of B over B (per token, it only grows
    // for smaller micro-batches; a group of tp GPUs spends at least as much GPU time).
    x.c = std::max(layer_floor_us(decode, g.spec, 1.0 / most_batch), m.cost(cls, 1, m.decode_pass(B)).layer_us / B);
    double tau = kInf, live = kInf;
    for (int tp : g.tps) {
      const PassCost& one = m.cost(cls, tp, m.decode_pass(1));
      tau = std::min(tau, one.layer_us), live = std::min(live, one.live_bytes);
      embed = std::min(embed, one.embed_us), head = std::min(head, one.head_us);
    }
    x.tau = tau;
    x.capacity = m.capacity_bytes(cls) * x.gpus;
    // A GPU in use holds at least one micro-batch's activations; one not in use holds nothing,
    // and counting its memory less those activations only overstates what the class holds.
    x.memory = std::max(0.0, m.capacity_bytes(cls) - live) * x.gpus;
    f.cls.push_back(x);
  }
  f.ends = embed + head;
  return f;
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
double tpot_memory_bound(Model& m, const Figures& f) {
  const ServeRequest& r = *m.request;
  const double w = m.layer_weight_bytes, kv = m.kv_sequence_layer_bytes(), L = m.layers;
  struct Cls {
    double tau, memory;
  };
  std::vector<Cls> cls;
  for (const ClassFigures& x : f.cls) cls.push_back(Cls{x.tau, x.memory});
  // A step's embedding and head run once per step wherever they are: the least of any group.
  const double tpot = r.tpot_ms * 1e3 - f.ends;
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

// --- Pipelines as units (the third bound) ---------------------------------------------------
//
// Every pipeline that decodes holds all L layers: n_d of them on GPU model d (sum n_d = L), each
// with its weights w and the KV cache of the pipeline's N sequences, n_d (w + N kv) bytes of the
// model's memory M_d; its tokens per second are at most output / (output - 1) x N / T with
// T >= sum n_d tau_d + embedding + head, and T within the TPOT. A fleet holds at most
// P = floor(total memory / (L w)) such pipelines. For prices lambda_d >= 0 on each model's bytes,
//   tokens <= sum_d lambda_d M_d + P x max(0, V(lambda)),
//   V(lambda) = max over one pipeline (n, N) of its tokens - sum_d lambda_d n_d (w + N kv),
// whatever the prices (the memory the pipelines use is at most M). For N within [N_lo, N_hi]
// the pipeline's value is at most N_hi / T(n) - lambda . n (w + N_lo kv) with n_d <= M_d / (w +
// N_lo kv): convex in n (one over a positive linear function, less a linear one), so its most
// over the polytope {sum n = L, 0 <= n <= cap, tau . n <= TPOT - ends} is at a vertex, where at
// most two coordinates lie strictly inside their bounds. V is the most over every vertex of every
// interval: exact, so the bound holds for any prices. The prices are the duals of the packing LP
// (at most P fractional pipelines of those vertex types within each model's memory), solved by a
// small simplex; numerical error there can only loosen the bound, never break it.
struct Column {
  double value;                // tokens per second of one such pipeline (N_hi / T)
  std::vector<double> memory;  // bytes per GPU model (n_d (w + N_lo kv))
};

// Maximises a . mu subject to rows . mu <= rhs, mu >= 0 (rhs >= 0): the row prices at the end.
std::vector<double> packing_duals(const std::vector<Column>& cols, const std::vector<double>& rhs, int rows) {
  const int n = static_cast<int>(cols.size()), R = rows, W = n + R;
  // Row 0 counts pipelines; rows 1.. are the models' memory, in GB (for the numbers' sake).
  std::vector<std::vector<double>> t(R, std::vector<double>(W + 1, 0.0));
  std::vector<double> z(W + 1, 0.0);  // reduced costs (negated objective row) and the value
  for (int j = 0; j < n; ++j) {
    t[0][j] = 1;
    for (int r = 1; r < R; ++r) t[r][j] = cols[j].memory[r - 1] / 1e9;
    z[j] = -cols[j].value;
  }
  for (int r = 0; r < R; ++r) {
    t[r][n + r] = 1;
    t[r][W] = r == 0 ? rhs[0] : rhs[r] / 1e9;
  }
  for (int iter = 0; iter < 50 * (R + 10); ++iter) {
    int enter = -1;
    double most = -1e-9;
    for (int j = 0; j < W; ++j)
      if (z[j] < most) most = z[j], enter = j;
    if (enter < 0) break;
    int leave = -1;
    double ratio = kInf;
    for (int r = 0; r < R; ++r)
      if (t[r][enter] > 1e-12 && t[r][W] / t[r][enter] < ratio) ratio = t[r][W] / t[r][enter], leave = r;
    if (leave < 0) break;  // unbounded: cannot happen with the pipeline row
    const double pv = t[leave][enter];
    for (double& x : t[leave]) x /= pv;
    for (int r = 0; r < R; ++r) {
      if (r == leave || t[r][enter] == 0) continue;
      const double f = t[r][enter];
      for (int j = 0; j <= W; ++j) t[r][j] -= f * t[leave][j];
    }
    const double f = z[enter];
    for (int j = 0; j <= W; ++j) z[j] -= f * t[leave][j];
  }
  std::vector<double> y(R);
  for (int r = 0; r < R; ++r) y[r] = std::max(0.0, z[n + r]) * (r == 0 ? 1.0 : 1e-9);  // per pipeline, per byte
  return y;
}

double pipeline_bound(Model& m, const Figures& f) {
  const ServeRequest& r = *m.request;
  const double w = m.layer_weight_bytes, kv = m.kv_sequence_layer_bytes(), L = m.layers;
  // GPU models: classes alike in their step time pooled.
  struct Kind {
    double tau, memory;
  };
  std::vector<Kind> kinds;
  double total = 0;
  for (const ClassFigures& x : f.cls) {
    total += x.capacity;
    bool pooled = false;
    for (Kind& k : kinds)
      if (k.tau == x.tau) k.memory += x.memory, pooled = true;
    if (!pooled) kinds.push_back(Kind{x.tau, x.memory});
  }
  const int K = static_cast<int>(kinds.size());
  if (K > 6) return kInf;  // too many vertices to list: the other bounds stand
  const double pipelines = std::floor(total / (L * w));
  const double ends = f.ends, t_max = r.tpot_ms * 1e3 - ends;
  if (pipelines < 1 || t_max <= 0) return 0;
  double most_n = 0;
  for (const Kind& k : kinds) most_n += k.memory;
  most_n = std::floor((most_n - L * w) / (L * kv));
  if (most_n < 1) return 0;
  const double gain = static_cast<double>(r.output) / std::max(1, r.output - 1) * 1e6;
  std::vector<Column> cols;
  auto add_vertex = [&](const std::vector<double>& n, double n_lo, double n_hi, const std::vector<double>& cap) {
    double sum = 0, t = 0;
    for (int d = 0; d < K; ++d) {
      if (n[d] < -1e-9 || n[d] > cap[d] * (1 + 1e-12) + 1e-9) return;
      sum += n[d], t += n[d] * kinds[d].tau;
    }
    if (std::abs(sum - L) > 1e-6 * L || t > t_max * (1 + 1e-12) || t + ends <= 0) return;
    Column c{gain * n_hi / (t + ends), std::vector<double>(K)};
    for (int d = 0; d < K; ++d) c.memory[d] = std::max(0.0, n[d]) * (w + n_lo * kv);
    cols.push_back(std::move(c));
  };
  for (double n_lo = 1; n_lo <= most_n;) {
    const double n_hi = std::min(most_n, n_lo < 128 ? n_lo : std::ceil(n_lo * 1.02));
    std::vector<double> cap(K);
    for (int d = 0; d < K; ++d) cap[d] = kinds[d].memory / (w + n_lo * kv);
    // Vertices: every coordinate but one or two at a bound (0 or its cap).
    for (int i = 0; i < K; ++i)
      for (int j = i; j < K; ++j) {
        std::vector<int> others;
        for (int d = 0; d < K; ++d)
          if (d != i && d != j) others.push_back(d);
        for (long mask = 0; mask < (1L << others.size()); ++mask) {
          std::vector<double> n(K, 0.0);
          double rest = L, time = t_max;
          for (size_t o = 0; o < others.size(); ++o)
            if (mask >> o & 1)
              n[others[o]] = cap[others[o]], rest -= cap[others[o]], time -= cap[others[o]] * kinds[others[o]].tau;
          if (i == j) {  // one coordinate free, the TPOT face not reached
            n[i] = rest;
            add_vertex(n, n_lo, n_hi, cap);
          } else if (kinds[i].tau != kinds[j].tau) {
            // Two free on the TPOT face: n_i + n_j = rest, tau_i n_i + tau_j n_j = time.
            const double ni = (time - kinds[j].tau * rest) / (kinds[i].tau - kinds[j].tau);
            n[i] = ni, n[j] = rest - ni;
            add_vertex(n, n_lo, n_hi, cap);
          }
        }
      }
    n_lo = n_hi + 1;
  }
  if (cols.empty()) return 0;
  std::vector<double> rhs(K + 1);
  rhs[0] = pipelines;
  for (int d = 0; d < K; ++d) rhs[d + 1] = kinds[d].memory;
  const std::vector<double> y = packing_duals(cols, rhs, K + 1);
  // The bound at these prices, from every vertex: valid whatever the simplex did.
  double v = 0;
  for (const Column& c : cols) {
    double x = c.value;
    for (int d = 0; d < K; ++d) x -= y[d + 1] * c.memory[d];
    v = std::max(v, x);
  }
  double bound = pipelines * v;
  for (int d = 0; d < K; ++d) bound += y[d + 1] * kinds[d].memory;
  return bound;
}

// The fluid bound with the TPOT: every decoded token's step takes at least the sum over its
// layers of tau_d (the class's layer time for a micro-batch of one, at its best TP) plus the
// least embedding and head, and at most the TPOT; summed over the decoded layer-tokens x_d of
// each class, sum_d x_d (tau_d - tbar) <= 0 with tbar = (TPOT - embedding - head) / L. For R
// requests per second the decode needs sum x_d = L (output - 1) R within each class's GPU time
// (x_d c_d <= G_d, the rest prefilling at a_d per layer-prompt), and the prefill L R. The most
// prefill the classes leave, max sum (G_d - x_d c_d) / a_d under those constraints, is at most
// L(mu) = sum G_d / a_d - min_x sum x_d (c_d / a_d + mu (tau_d - tbar)) for every mu >= 0 (the
// Lagrangian of the TPOT row; the min is a greedy over the keys); L is convex and piecewise linear
// in mu, so its least is at 0 or where two keys cross, or it falls without end (no allocation
// keeps the TPOT). R passes when that least reaches L R: a relaxation, so the bisection's R is
// never below the optimum.
double fluid_tpot_bound(Model& m, const Figures& f) {
  const ServeRequest& r = *m.request;
  const double L = m.layers, steps = r.output - 1;
  struct Kind {
    double G, a, c, tau;
  };
  std::vector<Kind> kinds;
  for (const ClassFigures& x : f.cls) {
    bool pooled = false;
    for (Kind& q : kinds)
      if (q.a == x.a && q.c == x.c && q.tau == x.tau) q.G += x.gpus, pooled = true;
    if (!pooled) kinds.push_back(Kind{x.gpus, x.a, x.c, x.tau});
  }
  const int K = static_cast<int>(kinds.size());
  if (K > 40) return kInf;  // the other bounds stand
  const double tbar = (r.tpot_ms * 1e3 - f.ends) / L;
  if (tbar <= 0) return 0;
  double all_prefill = 0, all_decode = 0;
  for (const Kind& q : kinds) all_prefill += q.G / q.a, all_decode += q.G / q.c;
  // The mu where two keys cross.
  std::vector<double> mus = {0.0};
  for (int i = 0; i < K; ++i)
    for (int j = 0; j < K; ++j)
      if (kinds[j].tau != kinds[i].tau) {
        const double mu = (kinds[i].c / kinds[i].a - kinds[j].c / kinds[j].a) / (kinds[j].tau - kinds[i].tau);
        if (mu > 0 && std::isfinite(mu)) mus.push_back(mu);
      }
  // L(mu) and its slope for decode X (layer-tokens per microsecond).
  auto lagrangian = [&](double mu, double X, double* slope) {
    std::vector<int> order(K);
    std::iota(order.begin(), order.end(), 0);
    auto key = [&](int d) { return kinds[d].c / kinds[d].a + mu * (kinds[d].tau - tbar); };
    std::sort(order.begin(), order.end(),
              [&](int x, int y) { return key(x) != key(y) ? key(x) < key(y) : kinds[x].tau < kinds[y].tau; });
    double left = X, cost = 0, tpot_row = 0;
    for (int d : order) {
      const double x = std::min(left, kinds[d].G / kinds[d].c);
      cost += x * key(d), tpot_row += x * (kinds[d].tau - tbar), left -= x;
      if (left <= 0) break;
    }
    *slope = -tpot_row;
    return all_prefill - cost;
  };
  auto feasible = [&](double R) {
    const double X = L * steps * R;
    if (X > all_decode) return false;
    double least = kInf, slope = 0;
    for (double mu : mus) least = std::min(least, lagrangian(mu, X, &slope));
    // Beyond every crossing the order is by tau: if L still falls there, it falls without end.
    double far = 0;
    for (double mu : mus) far = std::max(far, mu);
    lagrangian(2 * far + 1, X, &slope);
    if (slope < 0) return false;
    return least >= L * R * (1 - 1e-12);
  };
  double hi = all_prefill / L, lo = 0;
  for (int it = 0; it < 100 && hi - lo > 1e-12 * hi; ++it) {
    const double mid = 0.5 * (lo + hi);
    (feasible(mid) ? lo : hi) = mid;
  }
  return hi * 1e6 * r.output;
}

}  // namespace

double tokens_bound(Model& m) {
  const BoundParts b = bound_parts(m);
  return std::min({b.fluid, b.fluid_tpot, b.tpot_memory, b.pipelines});
}

BoundParts bound_parts(Model& m) {
  const ServeRequest& r = *m.request;
  double memory = 0;
  for (size_t c = 0; c < m.classes.size(); ++c)
    memory += m.capacity_bytes(static_cast<int>(c)) * m.classes[c].gpus.size();
  const double most_batch =
      std::max(1.0, std::floor((memory - m.weights_bytes()) / (m.kv_sequence_layer_bytes() * m.layers)));
  const Figures f = figures_of(m, most_batch);
  struct Gpu {
    double a, c;  // microseconds per layer: one prompt's prefill, one token's decode step
  };
  std::vector<Gpu> gpus;
  for (const ClassFigures& x : f.cls)
    for (int i = 0; i < static_cast<int>(x.gpus); ++i) gpus.push_back(Gpu{x.a, x.c});
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
  BoundParts b;
  b.fluid = hi * 1e6 * r.output;
  if (r.output > 1) b.fluid_tpot = fluid_tpot_bound(m, f);
  if (r.output > 1) b.tpot_memory = tpot_memory_bound(m, f), b.pipelines = pipeline_bound(m, f);
  return b;
}

}  // namespace diviml::serve_detail
