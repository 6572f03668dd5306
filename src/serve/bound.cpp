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
#include <chrono>
#include <cmath>
#include <functional>
#include <map>
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

// --- Pipelines as units (the fourth bound) --------------------------------------------------
//
// docs/serving.md, "The bound", part 4. The layout is a set of at most P = floor(memory / (L w))
// pipelines, each holding all L layers and their weights on whole GPUs of its own, a layer on a
// tensor-parallel group of some degree s of some GPU model d(s) (n_s layers there). A decode or
// colocated pipeline decodes N sequences in m micro-batches of N / m (evaluate.cpp): its
// iteration T (within the TPOT) is at least the embedding and head plus sum n_s tau_s(N / m),
// and every GPU runs each of its layers once per micro-batch within T, a group of k GPUs busy k
// times its step; so its GPUs of model d number G_d >= sum_{s of d} n_s r_s, r_s = max((w + N
// kv) / mem_d, m k tau_s(N / m) / T) (a colocated one also pays its prefill's pauses and GPU
// time). It yields output / (output - 1) x N / T tokens per second; a decode-only one needs L
// layer-prompts of prefill per request from prefill pipelines (x prompts per second, one
// prompt's chain within the TTFT, r_s = max(w / mem_d, x p_s)). For prices y_d >= 0 on each
// model's GPUs and pi >= 0 on prefill,
//   tokens <= sum_d y_d gpus_d + P x max(0, V),
// V the most one pipeline gains (tokens less its prefill's price, or its prefill's price) less
// sum_d y_d G_d. V is bounded over cells of (N, m, T) and of x, each at its best corner for the
// value and its worst for the GPUs (a layer's time is convex in the batch, every op's FLOPs and
// bytes affine in it, so m k tau_s(N / m) grows with m and N); in a cell, the least price of whole
// GPUs that hold the layers is searched exactly (least_gpus), or bounded below by a fractional
// relaxation once a node budget or a share of the time limit is spent. The prices come from a
// column generation over the packing LP (a small simplex): its rounding can loosen the bound,
// never break it.
struct Column {
  double value;             // tokens per second of one such pipeline (0: a prefill column)
  double pipelines;         // 1 for a pipeline, 0 for a prefill column
  std::vector<double> use;  // of rows 1..: GPUs of each model, then prefill (layer-prompts per second)
};

// Maximises value . x subject to use . x <= rhs (row 0: pipelines, then `use`'s rows), x >= 0,
// rhs >= 0: the rows' prices at the end.
std::vector<double> packing_duals(const std::vector<Column>& cols, const std::vector<double>& rhs) {
  const int n = static_cast<int>(cols.size()), R = static_cast<int>(rhs.size()), W = n + R;
  std::vector<std::vector<double>> t(R, std::vector<double>(W + 1, 0.0));
  std::vector<double> z(W + 1, 0.0);  // reduced costs (negated objective row) and the value
  for (int j = 0; j < n; ++j) {
    t[0][j] = cols[j].pipelines;
    for (int r = 1; r < R; ++r) t[r][j] = cols[j].use[r - 1];
    z[j] = -cols[j].value;
  }
  for (int r = 0; r < R; ++r) t[r][n + r] = 1, t[r][W] = rhs[r];
  for (int iter = 0; iter < 50 * (R + 10) + 4 * n; ++iter) {
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
  for (int r = 0; r < R; ++r) y[r] = std::max(0.0, z[n + r]);
  return y;
}

// One cell of (N, m, T): what a pipeline in it yields at most, and per layer on each model its GPU
// use and its least chain time.
struct Cell {
  double value = 0, budget = 0;        // tokens per second; chain time for the layers
  std::vector<double> r, tau, cap;     // per layer on each model, the least over its TP degrees: GPUs
                                       // (memory or time) and chain time; and the GPUs that hold them
  std::vector<double> sub_r, sub_tau;  // the same per TP degree of each model (Sub)
  enum Role { kDecode, kColocated, kPrefill } role = kDecode;
  double supply = 0;  // prefill: layer-prompts per second it gives at most
};

// A TP degree of a GPU model: its groups' layers cost what they cost at that degree.
struct Sub {
  int model = 0, tp = 1;
};

// The least sum_d c_d n_d over {sum n = L, 0 <= n <= cap, tau . n <= budget} (a feasible cell):
// its Lagrangian dual at 0 and at every crossing of two keys c_d + mu tau_d, the most of which is
// the LP's value (and any of which is at most it).
double least_use(const Cell& cell, const std::vector<double>& c, double L) {
  const int K = static_cast<int>(c.size());
  std::vector<int> order(K);
  auto dual = [&](double mu) {
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](int a, int b) {
      const double ka = c[a] + mu * cell.tau[a], kb = c[b] + mu * cell.tau[b];
      return ka != kb ? ka < kb : cell.tau[a] < cell.tau[b];
    });
    double left = L, v = -mu * cell.budget;
    for (int i = 0; i < K && left > 0; ++i) {
      const int d = order[i];
      const double x = std::min(left, cell.cap[d]);
      v += x * (c[d] + mu * cell.tau[d]), left -= x;
    }
    return v;
  };
  double best = dual(0);
  for (int i = 0; i < K; ++i)
    for (int j = i + 1; j < K; ++j)
      if (cell.tau[i] != cell.tau[j]) {
        const double mu = (c[j] - c[i]) / (cell.tau[i] - cell.tau[j]);
        if (mu > 0 && std::isfinite(mu)) best = std::max(best, dual(mu));
      }
  return best;
}

// Whether some n fits the cell: the caps hold L and the fastest fill meets the budget.
bool fits(const Cell& cell, double L) {
  const int K = static_cast<int>(cell.tau.size());
  std::vector<int> order(K);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int a, int b) { return cell.tau[a] < cell.tau[b]; });
  double left = L, t = 0;
  for (int d : order) {
    const double x = std::min(left, cell.cap[d]);
    t += x * cell.tau[d], left -= x;
  }
  return left <= 1e-9 * L && t <= cell.budget * (1 + 1e-12);
}

// A vertex of the cell's polytope of least sum c_d n_d (every coordinate but one or two at a bound).
std::vector<double> least_vertex(const Cell& cell, const std::vector<double>& c, double L) {
  const int K = static_cast<int>(c.size());
  std::vector<double> best;
  double least = kInf;
  auto consider = [&](const std::vector<double>& n) {
    double sum = 0, t = 0, v = 0;
    for (int d = 0; d < K; ++d) {
      if (n[d] < -1e-9 || n[d] > cell.cap[d] * (1 + 1e-12) + 1e-9) return;
      sum += n[d], t += n[d] * cell.tau[d], v += n[d] * c[d];
    }
    if (std::abs(sum - L) > 1e-6 * L || t > cell.budget * (1 + 1e-9)) return;
    if (v < least) least = v, best = n;
  };
  for (int i = 0; i < K; ++i)
    for (int j = i; j < K; ++j) {
      std::vector<int> others;
      for (int d = 0; d < K; ++d)
        if (d != i && d != j) others.push_back(d);
      for (long mask = 0; mask < (1L << others.size()); ++mask) {
        std::vector<double> n(K, 0.0);
        double rest = L, time = cell.budget;
        for (size_t o = 0; o < others.size(); ++o)
          if (mask >> o & 1) {
            const int d = others[o];
            n[d] = cell.cap[d], rest -= cell.cap[d], time -= cell.cap[d] * cell.tau[d];
          }
        if (i == j) {  // one coordinate free, the budget not reached
          n[i] = rest;
          consider(n);
        } else if (cell.tau[i] != cell.tau[j]) {  // two free on the budget's face
          const double ni = (time - cell.tau[j] * rest) / (cell.tau[i] - cell.tau[j]);
          n[i] = ni, n[j] = rest - ni;
          consider(n);
        }
      }
    }
  return best;
}

// Whether GPUs G_d of each model hold the cell's layers at some TP degrees: with n_s layers on
// groups of degree s (of model d(s)), sum n = L, sum_{s of d} n_s r_s <= G_d and tau . n <= budget.
// The least tau . n is a linear program; in u_s = n_s r_s (GPUs) its dual is the most over lambda
// of lambda L + sum_d G_d min(0, min_{s of d} (tau_s - lambda) / r_s), concave and piecewise
// linear, its breakpoints where a term crosses 0 or two degrees of one model cross: exact there.
bool holds(const Cell& cell, const std::vector<Sub>& subs, const std::vector<double>& G, double L) {
  const int S = static_cast<int>(subs.size());
  double most = 0;
  for (size_t d = 0; d < G.size(); ++d) {
    double per = 0;  // layers per GPU at its best degree
    for (int s = 0; s < S; ++s)
      if (subs[s].model == static_cast<int>(d)) per = std::max(per, 1 / cell.sub_r[s]);
    most += G[d] * per;
  }
  if (most < L * (1 - 1e-12)) return false;
  std::vector<double> best(G.size());  // per model, its best degree's term (reused: a hot path)
  auto dual = [&](double lambda) {
    std::fill(best.begin(), best.end(), 0.0);
    for (int s = 0; s < S; ++s)
      best[subs[s].model] = std::min(best[subs[s].model], (cell.sub_tau[s] - lambda) / cell.sub_r[s]);
    double v = lambda * L;
    for (size_t d = 0; d < G.size(); ++d) v += G[d] * best[d];
    return v;
  };
  double least = -kInf;
  for (int s = 0; s < S; ++s) {
    least = std::max(least, dual(cell.sub_tau[s]));
    for (int t = s + 1; t < S; ++t)
      if (subs[t].model == subs[s].model && cell.sub_r[t] != cell.sub_r[s]) {
        const double lambda =
            (cell.sub_tau[s] * cell.sub_r[t] - cell.sub_tau[t] * cell.sub_r[s]) / (cell.sub_r[t] - cell.sub_r[s]);
        if (std::isfinite(lambda)) least = std::max(least, dual(lambda));
      }
    if (least > cell.budget * (1 + 1e-12)) return false;
  }
  return least <= cell.budget * (1 + 1e-12);
}

// The cell with each TP degree of each model as a model of its own, holding up to all the
// model's GPUs: a relaxation (the degrees of a model share them) that knows each degree's figures.
Cell by_degree(const Cell& cell, const std::vector<Sub>& subs, const std::vector<double>& gpus) {
  Cell c = cell;
  c.r = cell.sub_r, c.tau = cell.sub_tau, c.cap.resize(subs.size());
  for (size_t s = 0; s < subs.size(); ++s) c.cap[s] = gpus[subs[s].model] / c.r[s];
  return c;
}

// The least sum p_d G_d over whole GPUs (G_d in 0..gpus_d) that hold the cell's layers (a
// pipeline's GPUs are whole, whatever its layers need), by a search with pruning; kInf when
// none. `G` gets the GPUs.
double least_gpus(const Cell& cell, const std::vector<Sub>& subs, const std::vector<double>& p,
                  const std::vector<double>& gpus, double L, std::vector<double>* G, long* budget) {
  const int K = static_cast<int>(p.size());
  std::vector<int> order(K);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int a, int b) { return p[a] > p[b]; });
  std::vector<double> g = gpus, best_g;
  double best = kInf;
  long nodes = 0;
  std::function<void(int, double)> dfs = [&](int i, double cost) {
    if (cost >= best || ++nodes > std::min(20000L, *budget)) return;
    if (!holds(cell, subs, g, L)) return;  // the models not yet chosen at their most: none holds
    if (i == K) {
      best = cost, best_g = g;
      return;
    }
    const int d = order[i];
    if (p[d] <= 0) return dfs(i + 1, cost);  // free GPUs: all of them
    for (int k = 0; k <= static_cast<int>(gpus[d]) && cost + k * p[d] < best; ++k) {
      g[d] = k;
      dfs(i + 1, cost + k * p[d]);
    }
    g[d] = gpus[d];
  };
  dfs(0, 0.0);
  const bool cut = nodes > std::min(20000L, *budget);
  *budget -= nodes;
  if (cut) {  // too many to search: fractional GPUs (a lower bound on whole ones)
    std::vector<double> c(K);
    for (int d = 0; d < K; ++d) c[d] = p[d] * cell.r[d];
    if (G) {
      *G = least_vertex(cell, c, L);
      for (int d = 0; d < K && !G->empty(); ++d) (*G)[d] = std::max(0.0, (*G)[d]) * cell.r[d];
    }
    return least_use(cell, c, L);
  }
  if (G) *G = best_g;
  return best;
}

double pipeline_bound(Model& m, const Figures& f) {
  const ServeRequest& r = *m.request;
  // A share of the time limit: past it, the column generation stops and the last pass takes
  // fractional GPUs (a weaker bound, as valid).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(0.25 * r.time_limit_s);
  auto late = [&] { return std::chrono::steady_clock::now() > deadline; };
  const double w = m.layer_weight_bytes, kv = m.kv_sequence_layer_bytes(), L = m.layers;
  // GPU models: their GPUs and the memory of one in use (less its least activations); and each
  // model's TP degrees (Sub), with what a layer costs at that degree.
  struct Kind {
    double gpus = 0, mem = 0;
  };
  struct Degree {
    std::vector<int> classes;  // of the model, allowing the degree
    // By micro-batch: a layer's least time on a group of this degree (its GPU time: tp times it).
    std::map<int, double> decode;
    // A layer of one prompt: in a prefill pipeline, the least GPU time per prompt and the least
    // time of one prompt alone (the TTFT's chain); in a colocated one, the least time per prompt.
    double prefill = kInf, prefill_one = kInf, rho = kInf;
  };
  std::vector<Kind> kinds;
  std::vector<Sub> subs;
  std::vector<Degree> deg;
  double total = 0;
  for (const std::vector<int>& model : m.models) {
    Kind k;
    for (int c : model) {
      const ClassFigures& x = f.cls[c];
      total += x.capacity;
      k.gpus += x.gpus;
      k.mem = std::max(k.mem, x.memory / x.gpus);
    }
    if (k.mem <= 0) continue;
    const int d = static_cast<int>(kinds.size());
    kinds.push_back(k);
    for (int c : model)
      for (int tp : m.classes[c].tps) {
        int s = 0;
        while (s < static_cast<int>(subs.size()) && !(subs[s].model == d && subs[s].tp == tp)) ++s;
        if (s == static_cast<int>(subs.size())) subs.push_back(Sub{d, tp}), deg.emplace_back();
        Degree& g = deg[s];
        g.classes.push_back(c);
        for (int bp : kPrefillBatches)
          g.prefill = std::min(g.prefill, tp * m.cost(c, tp, m.prefill_pass(bp)).layer_us / bp);
        g.prefill_one = std::min(g.prefill_one, m.cost(c, tp, m.prefill_pass(1)).layer_us);
        for (int bp : kColocatedPrefillBatches)
          g.rho = std::min(g.rho, m.cost(c, tp, m.prefill_pass(bp)).layer_us / bp);
      }
  }
  const int K = static_cast<int>(kinds.size()), S = static_cast<int>(subs.size());
  if (K == 0) return 0;
  if (K > 8) return kInf;  // too many to search: the other bounds stand
  auto decode = [&](int s, int b) {
    auto [it, fresh] = deg[s].decode.try_emplace(b, kInf);
    if (fresh)
      for (int c : deg[s].classes) it->second = std::min(it->second, m.cost(c, subs[s].tp, m.decode_pass(b)).layer_us);
    return it->second;
  };
  const double pipelines = std::floor(total / (L * w));
  const double ends = f.ends, t_max = r.tpot_ms * 1e3;
  if (pipelines < 1 || t_max - ends <= 0) return 0;
  double room = 0;
  for (const Kind& k : kinds) room += k.mem * k.gpus;
  const double most_n = std::floor((room - L * w) / (L * kv));
  if (most_n < 1) return 0;
  const double gain = static_cast<double>(r.output) / std::max(1, r.output - 1) * 1e6;
  const double steps = std::max(1, r.output - 1);  // decode steps per request
  double fastest = kInf;
  for (int s = 0; s < S; ++s) fastest = std::min(fastest, decode(s, 1));
  const double t_min = ends + L * fastest;
  if (t_min > t_max) return 0;
  // A cell's figures per model: the least over its degrees (for the cheap relaxation).
  auto per_model = [&](Cell& c) {
    c.r.assign(K, kInf), c.tau.assign(K, kInf), c.cap.resize(K);
    for (int s = 0; s < S; ++s) {
      const int d = subs[s].model;
      c.r[d] = std::min(c.r[d], c.sub_r[s]), c.tau[d] = std::min(c.tau[d], c.sub_tau[s]);
    }
    for (int d = 0; d < K; ++d) c.cap[d] = kinds[d].gpus / c.r[d];
  };

  // Cells: N exact to 32, then in steps of 3% (or wider: at most 64 more), T in steps of 2% (or
  // wider: at most 96); a cell's looseness is its width. Time limits under 2 s get a coarser
  // grid (6% and 5% steps, at most 24 each).
  const bool fine = r.time_limit_s >= 2;
  const double n_step = std::max(fine ? 1.03 : 1.06, std::pow(most_n / 32, 1.0 / (fine ? 64 : 24)));
  const double t_step = std::max(fine ? 1.02 : 1.05, std::pow(t_max / t_min, 1.0 / (fine ? 96 : 24)));
  std::vector<Cell> cells;
  const int micro[][2] = {{1, 1}, {2, 2}, {3, 4}, {5, 8}, {9, 16}, {17, 32}};
  for (double n_lo = 1; n_lo <= most_n;) {
    const double n_hi = std::min(most_n, n_lo < 32 ? n_lo : std::ceil(n_lo * n_step));
    for (const auto& mm : micro) {
      if (mm[0] > n_hi) break;
      const double lo = std::max(n_lo, static_cast<double>(mm[0]));
      const int b_chain = static_cast<int>(std::max(1.0, std::ceil(lo / mm[1])));
      const int b_busy = static_cast<int>(std::floor(lo / mm[0]));
      std::vector<double> chain(S), busy(S);
      for (int s = 0; s < S; ++s) {
        chain[s] = decode(s, b_chain);
        busy[s] = mm[0] * subs[s].tp * decode(s, b_busy);
      }
      for (double t_lo = t_min; t_lo < t_max;) {
        const double t_hi = std::min(t_max, t_lo * t_step);
        for (const bool colocated : {false, true}) {
          Cell c;
          c.role = colocated ? Cell::kColocated : Cell::kDecode;
          c.value = gain * n_hi / t_lo, c.budget = t_hi - ends;
          c.sub_r.resize(S), c.sub_tau = chain;
          for (int s = 0; s < S; ++s) {
            const double held = (w + lo * kv) / kinds[subs[s].model].mem;
            c.sub_r[s] = std::max(held, busy[s] / t_hi);
            if (colocated) {
              // Its prefill passes pause its steps (N / steps prompts per step) and take its
              // GPUs' time (N / (steps T) prompts per microsecond).
              c.sub_tau[s] += lo / steps * deg[s].rho;
              c.sub_r[s] = std::max(held, busy[s] / t_hi + lo / (steps * t_hi) * subs[s].tp * deg[s].rho);
            }
          }
          per_model(c);
          if (fits(c, L)) cells.push_back(std::move(c));
        }
        t_lo = t_hi;
      }
    }
    n_lo = n_hi + 1;
  }
  // Prefill pipelines (they feed decode-only ones): each holds every layer's weights too, n_s of
  // them on groups of degree s, and prefills x prompts per second in [x_lo, x_hi] within the
  // TTFT (one prompt's chain): its GPUs of degree s number at least n_s max(w / mem, x_lo p_s)
  // (p_s: the least GPU time of a layer per prompt at that degree).
  double most_x = 0;
  for (int d = 0; d < K; ++d) {
    double least = kInf;
    for (int s = 0; s < S; ++s)
      if (subs[s].model == d) least = std::min(least, deg[s].prefill);
    most_x += kinds[d].gpus / (least * 1e-6);
  }
  most_x /= L;
  for (double x_lo = 0; x_lo < most_x;) {
    const double x_hi = x_lo == 0 ? most_x * 1e-3 : std::min(most_x, x_lo * 1.03);
    Cell c;
    c.role = Cell::kPrefill;
    c.supply = x_hi * L, c.budget = r.ttft_ms * 1e3;
    c.sub_r.resize(S), c.sub_tau.resize(S);
    for (int s = 0; s < S; ++s) {
      c.sub_r[s] = std::max(w / kinds[subs[s].model].mem, x_lo * deg[s].prefill * 1e-6);
      c.sub_tau[s] = deg[s].prefill_one;
    }
    per_model(c);
    if (fits(c, L)) cells.push_back(std::move(c));
    x_lo = x_hi;
  }
  if (cells.empty()) return 0;
  // The packing LP's rows: pipelines, each model's GPUs, and prefill (layer-prompts per second
  // that the decode-only pipelines' requests need, less what the prefill pipelines give).
  const int R = K + 2;
  std::vector<double> rhs(R, 0.0);
  rhs[0] = pipelines;
  for (int d = 0; d < K; ++d) rhs[1 + d] = kinds[d].gpus;
  const double prompts_per_token = L / r.output;  // layer-prompts of prefill per token
  std::vector<Column> cols;
  // The rows' prices (any prices give a bound: V below is computed with them).
  std::vector<double> y(R, 0.0), price(K);
  auto layer_cost = [&](const Cell& c) {
    for (int d = 0; d < K; ++d) price[d] = y[1 + d] * c.r[d];
    return price;
  };
  // A cell's value less its prefill's price (decode-only) or plus its prefill's (prefill).
  auto worth = [&](const Cell& c) {
    const double pi = y[R - 1];
    return c.role == Cell::kColocated ? c.value
           : c.role == Cell::kDecode  ? c.value * (1 - pi * prompts_per_token)
                                      : pi * c.supply;
  };
  std::vector<double> gpus(K), gpu_price(K);  // gpu_price: y's GPU rows (1 each at first: fewest GPUs)
  for (int d = 0; d < K; ++d) gpus[d] = kinds[d].gpus;
  // The cells in order of what they could gain at the current prices with fractional GPUs (at
  // least what they gain with whole ones); then whole GPUs for as many as may still matter.
  // (Less the pipelines row's price for the column generation; not for the bound, which counts
  // P pipelines at their own gain.)
  auto ranked = [&](std::vector<std::pair<double, int>>* out, double row_price) {
    out->clear();
    for (int i = 0; i < static_cast<int>(cells.size()); ++i) {
      const Cell& c = cells[i];
      const double top = worth(c) - row_price;
      if (top <= 0) continue;
      const double g = top - least_use(c, layer_cost(c), L);
      if (g > 0) out->emplace_back(g, i);
    }
    std::sort(out->begin(), out->end(), std::greater<>());
  };
  // Column generation: the cells most worth adding at the current prices, then new prices. The
  // searches for whole GPUs share a budget of nodes (about half a second on 2 cores); past it,
  // fractional GPUs stand in (a weaker bound, as valid).
  long budget = 3000000;
  std::vector<std::pair<double, int>> order;
  for (int round = 0; round < 40 && (round == 0 || !late()); ++round) {
    if (round == 0) {  // every cell worth its tokens (prefill: as much as it would serve), fewest GPUs
      order.clear();
      for (int i = 0; i < static_cast<int>(cells.size()); ++i)
        order.emplace_back(cells[i].role == Cell::kPrefill ? cells[i].supply / prompts_per_token : cells[i].value, i);
      std::sort(order.begin(), order.end(), std::greater<>());
      std::fill(gpu_price.begin(), gpu_price.end(), 1.0);
    } else {
      ranked(&order, y[0]);
    }
    int added = 0, tried = 0;
    for (const auto& [up, i] : order) {
      if (added >= (round == 0 ? 256 : 64) || tried >= 1000 || (tried % 16 == 0 && late())) break;
      const Cell& c = cells[i];
      std::vector<double> G;
      ++tried;
      const double cost = least_gpus(c, subs, gpu_price, gpus, L, &G, &budget);
      if (G.empty() || (round > 0 && worth(c) - y[0] - cost <= 1e-9 * std::max(1.0, worth(c)))) continue;
      Column col{c.value, 1.0, G};
      col.use.push_back(c.role == Cell::kDecode    ? c.value * prompts_per_token
                        : c.role == Cell::kPrefill ? -c.supply
                                                   : 0.0);
      cols.push_back(std::move(col));
      ++added;
    }
    if (added == 0) break;
    y = packing_duals(cols, rhs);
    gpu_price.assign(y.begin() + 1, y.begin() + 1 + K);
  }
  // The bound at these prices, over every cell: valid whatever the simplex did. Cells in order of
  // what they could gain with fractional GPUs of any degree; each then bounded with fractional
  // GPUs of each degree, and, if it may still matter, exactly with whole GPUs (a budget of its
  // own).
  ranked(&order, 0.0);
  budget = 3000000;
  double v = 0;
  std::vector<double> degree_cost(S);
  for (const auto& [up, i] : order) {
    if (up <= v) break;
    const Cell& c = cells[i];
    for (int s = 0; s < S; ++s) degree_cost[s] = gpu_price[subs[s].model] * c.sub_r[s];
    const double fractional = least_use(by_degree(c, subs, gpus), degree_cost, L);
    if (worth(c) - fractional <= v) continue;
    if (late()) budget = 0;  // fractional from here on
    v = std::max(v, worth(c) - std::max(fractional, least_gpus(c, subs, gpu_price, gpus, L, nullptr, &budget)));
  }
  double bound = pipelines * v;
  for (int d = 0; d < K; ++d) bound += y[1 + d] * kinds[d].gpus;
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
