#include "diviml/graph/generators.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace diviml {
namespace {

// A conv-like layer: channels c_in -> c_out, k x k kernel, on a side x side fp32 feature map.
Node layer(const std::string& id, const std::string& op, int c_in, int c_out, int k, int side) {
  Node v;
  v.id = id;
  v.op = op;
  const double out = static_cast<double>(c_out) * side * side;
  const double in = static_cast<double>(c_in) * side * side;
  const double weights = static_cast<double>(c_in) * c_out * k * k;
  v.flops = 2.0 * out * c_in * k * k;
  v.param_bytes = 4.0 * weights;
  v.output_bytes = 4.0 * out;
  v.bytes_accessed = 4.0 * (in + out + weights);
  return v;
}

Node elementwise(const std::string& id, const std::string& op, int c, int side) {
  Node v;
  v.id = id;
  v.op = op;
  const double n = static_cast<double>(c) * side * side;
  v.flops = n;
  v.output_bytes = 4.0 * n;
  v.bytes_accessed = 8.0 * n;
  return v;
}

}  // namespace

Graph random_dag(int nodes, double edge_prob, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  const int channels[] = {32, 64, 96, 128, 192, 256};
  const int sides[] = {7, 14, 28, 56};
  Graph g;
  g.name = "random" + std::to_string(nodes) + "-s" + std::to_string(seed);
  for (int i = 0; i < nodes; ++i) {
    int cin = channels[rng() % 6], cout = channels[rng() % 6], side = sides[rng() % 4];
    std::string id(1, 'v');  // appended, not "v" + ...: GCC 12 warns falsely on that (PR105329)
    id += std::to_string(i);
    Node v = u(rng) < 0.6 ? layer(id, u(rng) < 0.5 ? "conv3x3" : "conv1x1", cin, cout, u(rng) < 0.5 ? 3 : 1, side)
                          : elementwise(id, u(rng) < 0.5 ? "relu" : "add", cout, side);
    if (i == 0) v.input_bytes = 4.0 * 3 * 224 * 224;
    g.add_node(std::move(v));
  }
  for (int i = 1; i < nodes; ++i) {
    bool any = false;
    for (int j = 0; j < i; ++j)
      if (u(rng) < edge_prob) {
        g.edges.push_back(Edge{j, i, *g.nodes[j].output_bytes});
        any = true;
      }
    if (!any) {
      int j = static_cast<int>(rng() % static_cast<std::uint64_t>(i));
      g.edges.push_back(Edge{j, i, *g.nodes[j].output_bytes});
    }
  }
  (void)g.finalize();
  return g;
}

Graph module_chain(int modules, int width, std::uint64_t seed, int skip) {
  std::mt19937_64 rng(seed);
  const int channels[] = {32, 64, 96, 128};
  Graph g;
  g.name = "chain" + std::to_string(modules) + "x" + std::to_string(width) +
           (skip > 1 ? "-skip" + std::to_string(skip) : "") + "-s" + std::to_string(seed);
  int side = 28;
  int prev = g.add_node(layer("stem", "conv3x3", 3, 192, 3, side));
  g.nodes[prev].input_bytes = 4.0 * 3 * side * side;
  int skip_from = prev;
  for (int m = 0; m < modules; ++m) {
    std::string p = "m" + std::to_string(m) + ".";
    if (skip > 1 && m % skip == 0) skip_from = prev;
    std::vector<int> ends;
    int total = 0;
    for (int b = 0; b < width; ++b) {
      int depth = 1 + static_cast<int>(rng() % 3);
      int last = prev, cin = 192;
      for (int l = 0; l < depth; ++l) {
        int cout = channels[rng() % 4];
        int k = l == depth - 1 && depth > 1 ? 3 : 1;
        int v = g.add_node(layer(p + "b" + std::to_string(b) + "." + std::to_string(l), k == 3 ? "conv3x3" : "conv1x1",
                                 cin, cout, k, side));
        g.edges.push_back(Edge{last, v, *g.nodes[last].output_bytes});
        last = v;
        cin = cout;
      }
      total += cin;
      ends.push_back(last);
    }
    int cat = g.add_node(elementwise(p + "concat", "cat", total, side));
    for (int e : ends) g.edges.push_back(Edge{e, cat, *g.nodes[e].output_bytes});
    int fork = g.add_node(layer(p + "out", "conv1x1", total, 192, 1, side));
    g.edges.push_back(Edge{cat, fork, *g.nodes[cat].output_bytes});
    if (skip > 1 && m % skip == skip - 1) g.edges.push_back(Edge{skip_from, fork, *g.nodes[skip_from].output_bytes});
    prev = fork;
  }
  (void)g.finalize();
  return g;
}

}  // namespace diviml

namespace diviml {
namespace {

// Undirected random graphs on n nodes as edge lists (a < b).
using EdgeList = std::vector<std::pair<int, int>>;

EdgeList watts_strogatz(int n, int k, double p, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<std::vector<char>> adj(n, std::vector<char>(n, 0));
  for (int i = 0; i < n; ++i)
    for (int j = 1; j <= k / 2; ++j) {
      int w = (i + j) % n;
      adj[i][w] = adj[w][i] = 1;
    }
  // Rewire each lattice edge (i, i+j) with probability p to (i, w), w uniform among nodes
  // that are neither i nor already neighbours of i (as networkx does).
  for (int j = 1; j <= k / 2; ++j)
    for (int i = 0; i < n; ++i) {
      int v = (i + j) % n;
      if (!adj[i][v] || u(rng) >= p) continue;
      std::vector<int> options;
      for (int w = 0; w < n; ++w)
        if (w != i && !adj[i][w]) options.push_back(w);
      if (options.empty()) continue;
      int w = options[rng() % options.size()];
      adj[i][v] = adj[v][i] = 0;
      adj[i][w] = adj[w][i] = 1;
    }
  EdgeList out;
  for (int a = 0; a < n; ++a)
    for (int b = a + 1; b < n; ++b)
      if (adj[a][b]) out.push_back({a, b});
  return out;
}

EdgeList erdos_renyi(int n, double p, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> u(0.0, 1.0);
  EdgeList out;
  for (int a = 0; a < n; ++a)
    for (int b = a + 1; b < n; ++b)
      if (u(rng) < p) out.push_back({a, b});
  return out;
}

EdgeList barabasi_albert(int n, int m, std::mt19937_64& rng) {
  EdgeList out;
  std::vector<int> repeated;  // each node once per incident edge: preferential attachment
  std::vector<int> targets;
  for (int i = 0; i < m; ++i) targets.push_back(i);
  for (int v = m; v < n; ++v) {
    for (int t : targets) {
      out.push_back({std::min(t, v), std::max(t, v)});
      repeated.push_back(t);
      repeated.push_back(v);
    }
    std::vector<char> chosen(n, 0);
    targets.clear();
    while (static_cast<int>(targets.size()) < m) {
      int t = repeated[rng() % repeated.size()];
      if (!chosen[t]) chosen[t] = 1, targets.push_back(t);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

Node sepconv(const std::string& id, int c, int side, int inputs) {
  Node v;
  v.id = id;
  v.op = "relu_sepconv3x3_bn";
  const double hw = static_cast<double>(side) * side;
  // Aggregation (sigmoid-weighted sum of the inputs), ReLU, depthwise 3x3, pointwise 1x1, BN.
  v.flops = 2.0 * inputs * c * hw + c * hw + 2.0 * 9 * c * hw + 2.0 * c * c * hw + 2.0 * c * hw;
  v.param_bytes = 4.0 * (9.0 * c + 1.0 * c * c + 4.0 * c + inputs);
  v.output_bytes = 4.0 * c * hw;
  v.bytes_accessed = 4.0 * c * hw * (inputs + 1) + v.param_bytes;
  return v;
}

}  // namespace

Result<Graph> rwnn(const RwnnSpec& s) {
  if (s.nodes < 2) return fail("rwnn: --nodes must be at least 2");
  if (s.stages < 1) return fail("rwnn: --stages must be at least 1");
  // Documented limits: channels double every stage (no int overflow) and the adjacency of a
  // stage is dense (nodes^2 bytes).
  if (s.nodes > 10000 || s.stages > 16) return fail("rwnn: at most 10000 --nodes per stage and 16 --stages");
  if (static_cast<double>(s.channels) * std::pow(2.0, s.stages - 1) > 1e7 || s.resolution > 100000)
    return fail("rwnn: --channels times 2^(stages - 1) must stay within 1e7 and --resolution within 100000");
  if (s.channels < 1 || s.resolution < 8) return fail("rwnn: --channels must be >= 1 and --resolution >= 8");
  if (s.model == "ws") {
    if (s.k < 2 || s.k % 2 != 0 || s.k >= s.nodes) return fail("rwnn: WS needs an even --k with 2 <= k < nodes");
    if (s.p < 0 || s.p > 1) return fail("rwnn: --p must lie in [0, 1]");
  } else if (s.model == "er") {
    if (s.p < 0 || s.p > 1) return fail("rwnn: --p must lie in [0, 1]");
  } else if (s.model == "ba") {
    if (s.m < 1 || s.m >= s.nodes) return fail("rwnn: BA needs 1 <= --m < nodes");
  } else {
    return fail("rwnn: unknown random graph model '" + s.model + "' (expected ws, er or ba)");
  }
  std::mt19937_64 rng(s.seed);
  Graph g;
  g.name = "rwnn-" + s.model + "-n" + std::to_string(s.nodes) + "-s" + std::to_string(s.stages) + "-seed" +
           std::to_string(s.seed);
  int side = s.resolution / 2;
  Node stem = layer("stem", "conv3x3_bn", 3, s.channels / 2 > 0 ? s.channels / 2 : 1, 3, side);
  stem.input_bytes = 4.0 * 3 * s.resolution * s.resolution;
  int input = g.add_node(stem);
  auto connect = [&](int a, int b) { g.edges.push_back(Edge{a, b, *g.nodes[a].output_bytes}); };
  for (int st = 0; st < s.stages; ++st) {
    const int c = s.channels << st;
    side = std::max(1, side / 2);
    EdgeList edges = s.model == "ws"   ? watts_strogatz(s.nodes, s.k, s.p, rng)
                     : s.model == "er" ? erdos_renyi(s.nodes, s.p, rng)
                                       : barabasi_albert(s.nodes, s.m, rng);
    std::vector<int> indeg(s.nodes, 0), outdeg(s.nodes, 0);
    for (auto [a, b] : edges) ++indeg[b], ++outdeg[a];
    const std::string prefix = "s" + std::to_string(st + 1) + ".";
    std::vector<int> id(s.nodes);
    for (int v = 0; v < s.nodes; ++v)
      id[v] = g.add_node(sepconv(prefix + "n" + std::to_string(v), c, side, std::max(1, indeg[v])));
    for (auto [a, b] : edges) connect(id[a], id[b]);
    int sinks = 0;
    for (int v = 0; v < s.nodes; ++v) {
      if (indeg[v] == 0) connect(input, id[v]);
      if (outdeg[v] == 0) ++sinks;
    }
    Node out = elementwise(prefix + "out", "mean", c, side);
    out.flops = static_cast<double>(sinks) * c * side * side;
    out.bytes_accessed = 4.0 * c * side * side * (sinks + 1);
    int o = g.add_node(out);
    for (int v = 0; v < s.nodes; ++v)
      if (outdeg[v] == 0) connect(id[v], o);
    input = o;
  }
  const int c_last = s.channels << (s.stages - 1);
  int head = g.add_node(layer("head.conv1x1", "conv1x1_bn_relu", c_last, 1280, 1, side));
  connect(input, head);
  Node pool = elementwise("head.pool", "adaptive_avg_pool", 1280, side);
  pool.output_bytes = 4.0 * 1280;
  int pl = g.add_node(pool);
  connect(head, pl);
  Node fc = layer("head.fc", "linear", 1280, 1000, 1, 1);
  int f = g.add_node(fc);
  connect(pl, f);
  if (Status st = g.finalize(); !st) return st.error();
  return g;
}

Result<Graph> transformer(const TransformerSpec& s) {
  if (s.layers < 1 || s.d_model < 1 || s.heads < 1 || s.seq < 1 || s.batch < 1 || s.vocab < 1)
    return fail("transformer: --layers, --d-model, --heads, --seq, --batch and --vocab must be positive");
  if (s.d_model % s.heads != 0) return fail("transformer: --d-model must be a multiple of --heads");
  const int kv_heads = s.kv_heads > 0 ? s.kv_heads : s.heads;
  if (s.kv_heads < 0 || kv_heads > s.heads || s.heads % kv_heads != 0)
    return fail("transformer: --kv-heads must divide --heads (grouped-query attention), at most --heads");
  if (s.ffn < 0) return fail("transformer: --ffn must be positive (0: GPT's MLP of 4 x d-model)");
  if (s.bytes_per_value < 1) return fail("transformer: --bytes-per-value must be positive");
  if (s.context < 0 || s.context > 10000000) return fail("transformer: --context must be in [0, 1e7]");
  if (s.cache_positions < 0 || s.cache_positions > 20000000)
    return fail("transformer: the cache's positions must be in [0, 2e7]");
  if (s.cache_batch < 0 || s.cache_batch > 100000000)
    return fail("transformer: the cache's sequences must be in [0, 1e8]");
  if (s.layers > 10000 || s.heads > 4096 || s.d_model > 1000000 || s.seq > 10000000 || s.batch > 1000000 ||
      s.vocab > 100000000 || s.bytes_per_value > 8 || s.ffn > 10000000)
    return fail(
        "transformer: beyond the documented limits (layers <= 10000, heads <= 4096, d-model <= 1e6, ffn <= 1e7, "
        "seq <= 1e7, batch <= 1e6, vocab <= 1e8, bytes-per-value <= 8)");
  const double B = s.bytes_per_value, T = static_cast<double>(s.batch) * s.seq, D = s.d_model;
  const int H = s.heads;
  const double dh = D / H, Dkv = dh * kv_heads;
  const double L = static_cast<double>(s.context) + s.seq;  // keys each new token attends to
  const double cached_positions = std::max(L, static_cast<double>(s.cache_positions));
  const double cache_batch = s.cache_batch > 0 ? s.cache_batch : s.batch;
  Graph g;
  g.name = "gpt-l" + std::to_string(s.layers) + "-d" + std::to_string(s.d_model) + "-h" + std::to_string(H) +
           (kv_heads != H ? "-kv" + std::to_string(kv_heads) : "") + (s.ffn > 0 ? "-f" + std::to_string(s.ffn) : "") +
           "-s" + std::to_string(s.seq) + "-b" + std::to_string(s.batch) +
           (s.context > 0 ? "-c" + std::to_string(s.context) : "");
  auto op = [&](const std::string& id, const std::string& kind, double flops, double params, double in_vals,
                double out_vals) {
    Node v;
    v.id = id;
    v.op = kind;
    v.flops = flops;
    v.param_bytes = params * B;
    v.output_bytes = out_vals * B;
    v.bytes_accessed = (in_vals + out_vals + params) * B;
    return g.add_node(v);
  };
  auto connect = [&](int a, int b) { g.edges.push_back(Edge{a, b, *g.nodes[a].output_bytes}); };
  auto linear = [&](const std::string& id, double in, double out) {
    return op(id, "linear", 2.0 * T * in * out, in * out + out, T * in, T * out);
  };
  // Tensor parallelism: an all-reduce of the block's activation, costed per device (a group's).
  auto allreduce = [&](const std::string& id, int after) {
    if (s.allreduce_us.empty()) return after;
    Node v;
    v.id = id;
    v.op = "allreduce";
    v.output_bytes = T * D * B;
    for (const auto& [device, us] : s.allreduce_us) v.cost_us[device] = us;
    const int ar = g.add_node(v);
    connect(after, ar);
    return ar;
  };
  const double positions = s.learned_positions ? cached_positions : 0.0;
  int x = op("embed", "embedding", T * D, (static_cast<double>(s.vocab) + positions) * D, T, T * D);
  // A lookup reads the rows of its tokens (and positions), not the whole table.
  g.nodes[x].bytes_accessed = T * 8 + (s.learned_positions ? 3.0 : 2.0) * T * D * B;
  g.nodes[x].input_bytes = T * 8;  // int64 token ids from the host
  for (int l = 0; l < s.layers; ++l) {
    std::string p = "l" + std::to_string(l) + ".";
    int ln1 = op(p + "ln1", "layer_norm", 5 * T * D, 2 * D, T * D, T * D);
    connect(x, ln1);
    int proj = -1;
    std::vector<int> heads_out;
    // `qw`: query width of this branch, `kvw`: its key and value width, `nheads`: its heads.
    auto attention = [&](const std::string& q, double qw, double kvw, double nheads) {
      int qkv = linear(q + "qkv", D, qw + 2 * kvw);
      // The keys and values of every position (the prompt's, or the cache and the new tokens'
      // in a decode step) stay for the steps that follow: the KV cache, resident where this
      // projection runs.
      const double read = static_cast<double>(s.batch) * L * kvw;
      g.nodes[qkv].state_bytes = 2 * cache_batch * cached_positions * kvw * B;
      connect(ln1, qkv);
      double scores = static_cast<double>(s.batch) * nheads * s.seq * L;
      int sc = op(q + "scores", "matmul", 2.0 * scores * dh, 0, T * qw + read, scores);
      connect(qkv, sc);
      int sm = op(q + "softmax", "softmax", 5.0 * scores, 0, scores, scores);
      connect(sc, sm);
      int av = op(q + "attn_v", "matmul", 2.0 * scores * dh, 0, scores + read, T * qw);
      connect(sm, av);
      connect(qkv, av);
      return av;
    };
    if (s.split_heads) {
      const int per_kv = H / kv_heads;  // query heads sharing one KV head
      for (int h = 0; h < H; ++h)
        heads_out.push_back(attention(p + "h" + std::to_string(h) + ".", dh, h % per_kv == 0 ? dh : 0.0, 1));
    } else {
      heads_out.push_back(attention(p, D, Dkv, H));
    }
    proj = linear(p + "proj", D, D);
    for (int h : heads_out) connect(h, proj);
    if (s.split_heads)  // each head's slice is 1/H of the attention output
      for (size_t e = g.edges.size() - heads_out.size(); e < g.edges.size(); ++e) g.edges[e].bytes = T * dh * B;
    const int attn_out = allreduce(p + "allreduce_attn", proj);
    int add1 = op(p + "add1", "add", T * D, 0, 2 * T * D, T * D);
    connect(attn_out, add1);
    connect(x, add1);
    int ln2 = op(p + "ln2", "layer_norm", 5 * T * D, 2 * D, T * D, T * D);
    connect(add1, ln2);
    int mlp = -1;
    if (s.ffn > 0) {  // SwiGLU: silu(x W_gate) * (x W_up), then W_down
      const double F = s.ffn;
      int gate = linear(p + "mlp_gate", D, F);
      connect(ln2, gate);
      int up = linear(p + "mlp_up", D, F);
      connect(ln2, up);
      int act = op(p + "swiglu", "silu_mul", 6 * T * F, 0, 2 * T * F, T * F);
      connect(gate, act);
      connect(up, act);
      mlp = linear(p + "mlp_down", F, D);
      connect(act, mlp);
    } else {
      int fc1 = linear(p + "mlp_up", D, 4 * D);
      connect(ln2, fc1);
      int act = op(p + "gelu", "gelu", 8 * T * 4 * D, 0, T * 4 * D, T * 4 * D);
      connect(fc1, act);
      mlp = linear(p + "mlp_down", 4 * D, D);
      connect(act, mlp);
    }
    const int mlp_out = allreduce(p + "allreduce_mlp", mlp);
    int add2 = op(p + "add2", "add", T * D, 0, 2 * T * D, T * D);
    connect(mlp_out, add2);
    connect(add1, add2);
    x = add2;
  }
  int lnf = op("ln_f", "layer_norm", 5 * T * D, 2 * D, T * D, T * D);
  connect(x, lnf);
  // Serving computes the logits of each sequence's last position and sends back the sampled
  // token; a plain pass computes and returns every position's logits.
  const double logit_rows = s.last_logits_only ? static_cast<double>(s.batch) : T;
  int lm = op("lm_head", "linear", 2.0 * logit_rows * D * s.vocab, D * static_cast<double>(s.vocab) + s.vocab,
              logit_rows * D, logit_rows * s.vocab);
  if (s.last_logits_only) g.nodes[lm].output_bytes = static_cast<double>(s.batch) * 8;
  connect(lnf, lm);
  if (Status st = g.finalize(); !st) return st.error();
  return g;
}

Result<TransformerSpec> transformer_preset(const std::string& name) {
  TransformerSpec s;
  if (name == "gpt3-175b") {
    s.layers = 96, s.d_model = 12288, s.heads = 96, s.kv_heads = 96, s.ffn = 0, s.vocab = 50257;
    s.learned_positions = true;
  } else if (name == "llama2-70b") {
    s.layers = 80, s.d_model = 8192, s.heads = 64, s.kv_heads = 8, s.ffn = 28672, s.vocab = 32000;
    s.learned_positions = false;
  } else if (name == "llama3-8b") {
    s.layers = 32, s.d_model = 4096, s.heads = 32, s.kv_heads = 8, s.ffn = 14336, s.vocab = 128256;
    s.learned_positions = false;
  } else {
    std::string known;
    for (const std::string& n : transformer_preset_names()) known += (known.empty() ? "" : ", ") + n;
    return usage_error("unknown preset '" + name + "' (known: " + known + ")");
  }
  s.bytes_per_value = 2;
  return s;
}

std::vector<std::string> transformer_preset_names() { return {"gpt3-175b", "llama2-70b", "llama3-8b"}; }

}  // namespace diviml
