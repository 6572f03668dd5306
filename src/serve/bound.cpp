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
// Every pipeline that decodes holds all L layers, n_d of them on GPUs of model d (sum n_d = L),
// and decodes its N sequences in m micro-batches of b = N / m (evaluate.cpp): one iteration T (a
// sequence's time per token, within the TPOT) is at least its chain, the embedding and head plus
// sum n_d tau_d(b) (tau_d: the least time of a layer for a micro-batch of b on any group of model
// d), and every GPU runs each of its layers once per micro-batch within T. A group of k GPUs
// spends at least floor_d(b) of GPU time on a layer of a micro-batch (each op's FLOPs over peak or
// bytes over bandwidth, weights read once: TP splits them at best evenly), so the model's GPUs
// in the pipeline, G_d, satisfy n_d m floor_d(b) <= G_d T; they also hold the layers' weights and
// caches, n_d (w + N kv) <= G_d mem_d. The pipeline yields output / (output - 1) x N / T tokens
// per second; the fleet has gpus_d GPUs of model d and holds at most P = floor(memory / (L w))
// pipelines. For prices y_d >= 0 on each model's GPUs,
//   tokens <= sum_d y_d gpus_d + P x max(0, V(y)),
//   V(y) = max over one pipeline of its tokens - sum_d y_d G_d.
// V is bounded over cells of (N, m, T): for N in [N_lo, N_hi], m in [m_lo, m_hi] and T in
// [T_lo, T_hi] a pipeline yields at most N_hi / T_lo, needs G_d >= n_d r_d with r_d = max((w +
// N_lo kv) / mem_d, m_lo floor_d(N_lo / m_lo) / T_hi) (floor_d is convex in the batch, as every
// op's FLOPs and bytes are affine in it, so m floor_d(N / m) grows with m and N), and its chain
// sum n_d tau_d(ceil(N_lo / m_hi)) fits in T_hi less the ends. The least priced use over that
// polytope is a linear program of two rows and boxes: its Lagrangian dual (the TPOT row priced,
// a greedy fill) at every crossing of two keys is exact, and any dual value would do. The prices
// come from a column generation over the packing LP (a small simplex): its rounding can loosen
// the bound, never break it.
struct Column {
  double value;             // tokens per second of one such pipeline (0: a prefill column)
  double pipelines;         // 1 for a pipeline, 0 for a prefill column
  std::vector<double> use;  // of rows 1..: GPUs of each model, their time, prefill (layer-prompts/s)
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
  double value = 0, budget = 0;     // tokens per second; chain time for the layers
  std::vector<double> r, tau, cap;  // per layer on each model: GPUs (memory or time), chain time
  enum Role { kDecode, kColocated, kPrefill } role = kDecode;
  double supply = 0;  // prefill: layer-prompts per second it gives at most
};

// The least sum_d c_d n_d over {sum n = L, 0 <= n <= cap, tau . n <= budget} (a feasible cell):
// its Lagrangian dual at 0 and at every crossing of two keys c_d + mu tau_d, the most of which is
// the LP's value (and any of which is at most it).
double least_use(const Cell& cell, const std::vector<double>& c, double L) {
  const int K = static_cast<int>(c.size());
  auto dual = [&](double mu) {
    int order[16];
    for (int d = 0; d < K; ++d) order[d] = d;
    std::sort(order, order + K, [&](int a, int b) {
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

// Whether GPUs G_d of each model hold the cell's layers: n_d <= G_d / r_d, the fastest first.
bool holds(const Cell& cell, const std::vector<double>& G, double L) {
  Cell c = cell;
  for (size_t d = 0; d < G.size(); ++d) c.cap[d] = G[d] / c.r[d];
  return fits(c, L);
}

// The least sum p_d G_d over whole GPUs (G_d in 0..gpus_d) that hold the cell's layers (a
// pipeline's GPUs are whole, whatever its layers need), by a search with pruning; kInf when
// none. `G` gets the GPUs.
double least_gpus(const Cell& cell, const std::vector<double>& p, const std::vector<double>& gpus, double L,
                  std::vector<double>* G) {
  const int K = static_cast<int>(p.size());
  std::vector<int> order(K);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int a, int b) { return p[a] > p[b]; });
  std::vector<double> g = gpus, best_g;
  double best = kInf;
  long nodes = 0;
  std::function<void(int, double)> dfs = [&](int i, double cost) {
    if (cost >= best || ++nodes > 200000) return;
    if (!holds(cell, g, L)) return;  // the models not yet chosen at their most: none holds
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
  if (nodes > 200000) {  // too many to search: fractional GPUs (a lower bound on whole ones)
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
  const double w = m.layer_weight_bytes, kv = m.kv_sequence_layer_bytes(), L = m.layers;
  // GPU models: their GPUs, the memory of one in use (less its least activations), its spec.
  struct Kind {
    double gpus = 0, mem = 0;
    std::vector<int> classes;
    // By micro-batch: a layer's least time on a group of the model, and its least GPU time (the
    // group's time times its GPUs).
    std::map<int, std::pair<double, double>> decode;
    // A layer of one prompt's prefill: the least GPU time per prompt on a group of the model in a
    // prefill pipeline, and in a colocated one (its time, and its GPU time).
    double prefill = kInf, rho = kInf, coloc = kInf;
  };
  std::vector<Kind> kinds;
  double total = 0;
  for (const std::vector<int>& model : m.models) {
    Kind k;
    for (int c : model) {
      const ClassFigures& x = f.cls[c];
      total += x.capacity;
      k.gpus += x.gpus;
      k.mem = std::max(k.mem, x.memory / x.gpus);
    }
    k.classes = model;
    for (int c : model)
      for (int tp : m.classes[c].tps) {
        for (int bp : kPrefillBatches)
          k.prefill = std::min(k.prefill, tp * m.cost(c, tp, m.prefill_pass(bp)).layer_us / bp);
        for (int bp : kColocatedPrefillBatches) {
          const double us = m.cost(c, tp, m.prefill_pass(bp)).layer_us / bp;
          k.rho = std::min(k.rho, us), k.coloc = std::min(k.coloc, tp * us);
        }
      }
    if (k.mem > 0) kinds.push_back(std::move(k));
  }
  const int K = static_cast<int>(kinds.size());
  if (K == 0) return 0;
  if (K > 8) return kInf;  // too many vertices to list: the other bounds stand
  auto decode = [&](Kind& k, int b) {
    auto [it, fresh] = k.decode.try_emplace(b, kInf, kInf);
    if (fresh)
      for (int c : k.classes)
        for (int tp : m.classes[c].tps) {
          const double us = m.cost(c, tp, m.decode_pass(b)).layer_us;
          it->second.first = std::min(it->second.first, us);
          it->second.second = std::min(it->second.second, tp * us);
        }
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
  for (Kind& k : kinds) fastest = std::min(fastest, decode(k, 1).first);
  const double t_min = ends + L * fastest;
  if (t_min > t_max) return 0;

  std::vector<Cell> cells;
  const int micro[][2] = {{1, 1}, {2, 2}, {3, 4}, {5, 8}, {9, 16}, {17, 32}};
  for (double n_lo = 1; n_lo <= most_n;) {
    const double n_hi = std::min(most_n, n_lo < 32 ? n_lo : std::ceil(n_lo * 1.03));
    for (const auto& mm : micro) {
      if (mm[0] > n_hi) break;
      const double lo = std::max(n_lo, static_cast<double>(mm[0]));
      const int b_chain = static_cast<int>(std::max(1.0, std::ceil(lo / mm[1])));
      const int b_busy = static_cast<int>(std::floor(lo / mm[0]));
      std::vector<double> chain(K), busy(K), held(K);
      for (int d = 0; d < K; ++d) {
        chain[d] = decode(kinds[d], b_chain).first;
        busy[d] = mm[0] * decode(kinds[d], b_busy).second;
        held[d] = (w + lo * kv) / kinds[d].mem;
      }
      for (double t_lo = t_min; t_lo < t_max;) {
        const double t_hi = std::min(t_max, t_lo * 1.03);
        for (const bool colocated : {false, true}) {
          Cell c;
          c.role = colocated ? Cell::kColocated : Cell::kDecode;
          c.value = gain * n_hi / t_lo, c.budget = t_hi - ends;
          c.r.resize(K), c.cap.resize(K);
          c.tau = chain;
          for (int d = 0; d < K; ++d) {
            c.r[d] = std::max(held[d], busy[d] / t_hi);
            if (colocated) {
              // Its prefill passes pause its steps (N / steps prompts per step) and take its
              // GPUs' time (N / (steps T) prompts per microsecond).
              c.tau[d] += lo / steps * kinds[d].rho;
              c.r[d] = std::max(held[d], busy[d] / t_hi + lo / (steps * t_hi) * kinds[d].coloc);
            }
            c.cap[d] = kinds[d].gpus / c.r[d];
          }
          if (fits(c, L)) cells.push_back(std::move(c));
        }
        t_lo = t_hi;
      }
    }
    n_lo = n_hi + 1;
  }
  // Prefill pipelines (they feed decode-only ones): each holds every layer's weights too, n_d
  // of them on model d, and prefills x prompts per second in [x_lo, x_hi]: its GPUs of model d
  // number at least n_d max(w / mem_d, x_lo a_d) (a_d: a GPU's least time for a layer of a prompt).
  double most_x = 0;
  for (const Kind& k : kinds) most_x += k.gpus / (k.prefill * 1e-6);
  most_x /= L;
  for (double x_lo = 0; x_lo < most_x;) {
    const double x_hi = x_lo == 0 ? most_x * 1e-3 : std::min(most_x, x_lo * 1.03);
    Cell c;
    c.role = Cell::kPrefill;
    c.supply = x_hi * L, c.budget = 1;
    c.r.resize(K), c.cap.resize(K), c.tau.assign(K, 0.0);
    for (int d = 0; d < K; ++d) {
      c.r[d] = std::max(w / kinds[d].mem, x_lo * kinds[d].prefill * 1e-6);
      c.cap[d] = kinds[d].gpus / c.r[d];
    }
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
  std::vector<double> gpus(K), gpu_price(K);
  for (int d = 0; d < K; ++d) gpus[d] = kinds[d].gpus;
  auto set_gpu_price = [&] {
    for (int d = 0; d < K; ++d) gpu_price[d] = y[1 + d];
  };
  // The cells in order of what they could gain at the current prices with fractional GPUs (at
  // least what they gain with whole ones); then whole GPUs for as many as may still matter.
  auto ranked = [&](std::vector<std::pair<double, int>>* out) {
    out->clear();
    for (int i = 0; i < static_cast<int>(cells.size()); ++i) {
      const Cell& c = cells[i];
      const double top = worth(c) - y[0];
      if (top <= 0) continue;
      const double g = top - least_use(c, layer_cost(c), L);
      if (g > 0) out->emplace_back(g, i);
    }
    std::sort(out->begin(), out->end(), std::greater<>());
  };
  // Column generation: the cells most worth adding at the current prices, then new prices.
  std::vector<std::pair<double, int>> order;
  for (int round = 0; round < 40; ++round) {
    if (round == 0) {  // every cell worth its tokens (prefill: as much as it would serve), fewest GPUs
      order.clear();
      for (int i = 0; i < static_cast<int>(cells.size()); ++i)
        order.emplace_back(cells[i].role == Cell::kPrefill ? cells[i].supply / prompts_per_token : cells[i].value, i);
      std::sort(order.begin(), order.end(), std::greater<>());
      std::fill(gpu_price.begin(), gpu_price.end(), 1.0);
    } else {
      ranked(&order);
    }
    int added = 0, tried = 0;
    for (const auto& [up, i] : order) {
      if (added >= (round == 0 ? 256 : 64) || tried >= 4000) break;
      const Cell& c = cells[i];
      std::vector<double> G;
      ++tried;
      const double cost = least_gpus(c, gpu_price, gpus, L, &G);
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
    set_gpu_price();
  }
  // The bound at these prices, over every cell: valid whatever the simplex did. A cell gains at
  // most its worth less the least fractional GPUs' price, and exactly that less its whole GPUs'.
  ranked(&order);
  double v = 0;
  for (const auto& [up, i] : order) {
    if (up <= v) break;
    v = std::max(v, worth(cells[i]) - least_gpus(cells[i], gpu_price, gpus, L, nullptr));
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
