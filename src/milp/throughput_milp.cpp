#include "diviml/milp/throughput_milp.hpp"

#include <algorithm>
#include <cmath>

namespace diviml {

ThroughputMilp build_throughput_milp(const Problem& pr, int lanes, const std::vector<int>* start) {
  const Graph& g = pr.graph();
  const int n = pr.num_nodes(), k = pr.num_devices(), host = pr.platform().host;
  ThroughputMilp T;
  T.lanes = lanes;
  MilpModel& m = T.model;
  T.period = m.add_var(0, kInf, 1.0, false, "P");
  T.x.assign(lanes, std::vector<std::vector<int>>(n, std::vector<int>(k, -1)));
  std::vector<std::vector<std::pair<int, double>>> device_load(k), link_load(static_cast<size_t>(k) * k);
  // Continuous columns and the binaries that force them up (x_a, or x_a + x_b - 1; b = -1: x_a).
  std::vector<std::pair<int, std::vector<std::pair<int, int>>>> implied;
  for (int l = 0; l < lanes; ++l)
    for (int v = 0; v < n; ++v) {
      std::vector<std::pair<int, double>> one;
      for (int d = 0; d < k; ++d) {
        const double in = pr.input_us(v, d), out = pr.output_us(v, d);
        if (!pr.can_run(v, d) || !std::isfinite(in) || !std::isfinite(out)) continue;
        const int x = m.add_var(0, 1, 0, true);
        T.x[l][v][d] = x;
        one.push_back({x, 1.0});
        device_load[d].push_back({x, pr.cost_us(v, d)});
        if (in > 0) link_load[static_cast<size_t>(host) * k + d].push_back({x, in});
        if (out > 0) link_load[static_cast<size_t>(d) * k + host].push_back({x, out});
      }
      m.add_row(std::move(one), 1, 1);
    }
  // Weights resident once per device, when the weights could exceed a capacity.
  double params = 0;
  for (int v = 0; v < n; ++v) params += pr.resident_bytes(v);
  for (int d = 0; d < k; ++d) {
    if (params <= pr.capacity_bytes(d)) continue;
    std::vector<std::pair<int, double>> mem;
    for (int v = 0; v < n; ++v) {
      if (T.x[0][v][d] < 0 || pr.resident_bytes(v) <= 0) continue;
      const int y = m.add_var(0, 1, 0, false);
      for (int l = 0; l < lanes; ++l) {
        m.add_row({{y, 1.0}, {T.x[l][v][d], -1.0}}, 0, kInf);
        implied.push_back({y, {{T.x[l][v][d], -1}}});
      }
      mem.push_back({y, pr.resident_bytes(v)});
    }
    m.add_row(std::move(mem), -kInf, pr.capacity_bytes(d));
  }
  // Tensor moves: per lane, producer and device pair.
  for (int l = 0; l < lanes; ++l)
    for (int u = 0; u < n; ++u) {
      const std::vector<int> consumers = g.consumers(u);
      if (consumers.empty()) continue;
      for (int a = 0; a < k; ++a) {
        if (T.x[l][u][a] < 0) continue;
        for (int b = 0; b < k; ++b) {
          if (b == a) continue;
          double price = kInf;
          for (int e : g.out_edges(u)) price = std::min(price, pr.comm_us(e, a, b));
          std::vector<int> there;
          for (int w : consumers)
            if (T.x[l][w][b] >= 0) there.push_back(w);
          if (there.empty()) continue;
          if (!std::isfinite(price)) {  // no link: u on a excludes every consumer on b
            for (int w : there) m.add_row({{T.x[l][u][a], 1.0}, {T.x[l][w][b], 1.0}}, -kInf, 1);
            continue;
          }
          if (price <= 0) continue;
          const int mv = m.add_var(0, 1, 0, false);
          implied.push_back({mv, {}});
          for (int w : there) {
            m.add_row({{mv, 1.0}, {T.x[l][u][a], -1.0}, {T.x[l][w][b], -1.0}}, -1, kInf);
            implied.back().second.push_back({T.x[l][u][a], T.x[l][w][b]});
          }
          link_load[static_cast<size_t>(a) * k + b].push_back({mv, price});
        }
      }
    }
  add_copy_occupancy(pr, device_load, link_load);
  add_nic_loads(pr, link_load);
  for (auto& row : device_load) {
    if (row.empty()) continue;
    row.push_back({T.period, -static_cast<double>(lanes)});
    m.add_row(std::move(row), -kInf, 0);
  }
  for (auto& row : link_load) {
    if (row.empty()) continue;
    row.push_back({T.period, -static_cast<double>(lanes)});
    m.add_row(std::move(row), -kInf, 0);
  }
  // Lanes are interchangeable: sort them by compute on the device that runs the model fastest.
  if (lanes > 1) {
    int fast = 0;
    double best = kInf;
    for (int d = 0; d < k; ++d) {
      double w = 0;
      for (int v = 0; v < n; ++v) w += pr.can_run(v, d) ? pr.cost_us(v, d) : 1e12;
      if (w < best) best = w, fast = d;
    }
    for (int l = 0; l + 1 < lanes; ++l) {
      std::vector<std::pair<int, double>> row;
      for (int v = 0; v < n; ++v)
        if (T.x[l][v][fast] >= 0) {
          const double c = std::max(pr.cost_us(v, fast), 1e-6);  // zero-cost nodes still count
          row.push_back({T.x[l][v][fast], c});
          row.push_back({T.x[l + 1][v][fast], -c});
        }
      if (!row.empty()) m.add_row(std::move(row), 0, kInf);
    }
  }
  if (start && static_cast<int>(start->size()) == lanes * n) {
    // A full start: devices as given, moves and residency at their least values, P the load.
    std::vector<double> s(m.num_vars(), 0.0);
    bool ok = true;
    for (int l = 0; l < lanes && ok; ++l)
      for (int v = 0; v < n && ok; ++v) {
        const int x = T.x[l][v][(*start)[l * n + v]];
        ok = x >= 0;
        if (ok) s[x] = 1.0;
      }
    if (ok) {
      // Residency and moves at the least values their rows allow.
      for (const auto& [col, covers] : implied)
        for (const auto& [a, b] : covers) s[col] = std::max(s[col], s[a] + (b >= 0 ? s[b] - 1 : 0.0));
      double p = 0;
      for (const MilpModel::Row& row : m.rows) {
        double load = 0, own = 0;
        for (const auto& [col, c] : row.terms) (col == T.period ? own : load) += c * s[col];
        if (own != 0 && row.hi == 0) p = std::max(p, load / lanes);
      }
      s[T.period] = p;
      m.start = std::move(s);
    }
  }
  return T;
}

void add_copy_occupancy(const Problem& pr, std::vector<std::vector<std::pair<int, double>>>& device_load,
                        const std::vector<std::vector<std::pair<int, double>>>& link_load) {
  const int k = pr.num_devices();
  for (int a = 0; a < k; ++a)
    for (int b = 0; b < k; ++b)
      for (int d : {a, b})
        if (a != b && !pr.platform().devices[d].overlap_comm)
          for (const auto& term : link_load[static_cast<size_t>(a) * k + b]) device_load[d].push_back(term);
}

void add_nic_loads(const Problem& pr, std::vector<std::vector<std::pair<int, double>>>& link_load) {
  const int k = pr.num_devices();
  const size_t pairs = static_cast<size_t>(k) * k;
  link_load.resize(pairs + 2 * static_cast<size_t>(k));
  for (int a = 0; a < k; ++a)
    for (int b = 0; b < k; ++b) {
      if (!pr.platform().crosses_servers(a, b)) continue;
      const auto& terms = link_load[static_cast<size_t>(a) * k + b];
      for (size_t to : {pairs + a, pairs + k + b})
        link_load[to].insert(link_load[to].end(), terms.begin(), terms.end());
    }
}

std::vector<int> devices_from_solution(const Problem& pr, const ThroughputMilp& T, const std::vector<double>& x) {
  const int n = pr.num_nodes(), k = pr.num_devices();
  std::vector<int> device(static_cast<size_t>(T.lanes) * n, -1);
  for (int l = 0; l < T.lanes; ++l)
    for (int v = 0; v < n; ++v) {
      double best = -1;
      for (int d = 0; d < k; ++d)
        if (T.x[l][v][d] >= 0 && x[T.x[l][v][d]] > best) best = x[T.x[l][v][d]], device[l * n + v] = d;
    }
  return device;
}

}  // namespace diviml
