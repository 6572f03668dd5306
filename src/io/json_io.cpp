#include "diviml/io/json_io.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "diviml/objective/memory.hpp"

// The source tree, whose platforms/ and models/ the build-tree binaries use.
#ifndef DIVIML_SOURCE_DATA_DIR
#define DIVIML_SOURCE_DATA_DIR "."
#endif

namespace diviml {
namespace {

using json = nlohmann::json;

Result<json> parse_json(const std::string& text, const std::string& source) {
  try {
    return json::parse(text);
  } catch (const json::exception& e) {  // parse errors, and numbers out of double range
    std::string what = e.what();
    auto p = what.find("] ");
    if (p != std::string::npos) what = what.substr(p + 2);
    return fail(source + ": malformed JSON: " + what);
  }
}

// A document as text; any string that is not UTF-8 (ids from ONNX node names are arbitrary
// bytes) is written with U+FFFD rather than throwing.
std::string to_text(const json& doc, int indent) {
  return doc.dump(indent, ' ', false, json::error_handler_t::replace) + "\n";
}

// Largest magnitude of any number read (1e18 us is 31,000 years; 1e18 bytes an exabyte).
constexpr double kMaxValue = 1e18;

// Field access with messages of the form "<source>: <where>: <problem>".
class Fields {
 public:
  Fields(const json& obj, std::string source, std::string where)
      : obj_(obj), source_(std::move(source)), where_(std::move(where)) {}

  Error err(const std::string& what) const {
    return fail(source_ + ": " + (where_.empty() ? "" : where_ + ": ") + what);
  }
  bool has(const char* key) const { return obj_.contains(key) && !obj_.at(key).is_null(); }

  Result<std::string> str(const char* key) const {
    if (!obj_.contains(key)) return err(std::string("missing required field '") + key + "'");
    return str_value(key);
  }
  Result<std::string> str_or(const char* key, const std::string& dflt) const {
    if (!has(key)) return dflt;
    return str_value(key);
  }
  Result<double> num(const char* key) const {
    if (!obj_.contains(key)) return err(std::string("missing required field '") + key + "'");
    return num_value(obj_.at(key), key);
  }
  Result<std::optional<double>> opt_num(const char* key) const {
    if (!has(key)) return std::optional<double>{};
    Result<double> r = num_value(obj_.at(key), key);
    if (!r) return r.error();
    return std::optional<double>{*r};
  }
  Result<double> num_value(const json& v, const std::string& key) const {
    if (!v.is_number()) return err("field '" + key + "' must be a number");
    double x = v.get<double>();
    if (!std::isfinite(x)) return err("field '" + key + "' is not finite");
    // Sums over whole graphs must stay finite: no time or size may exceed kMaxValue.
    if (std::abs(x) > kMaxValue) return err("field '" + key + "' is out of range (at most 1e18 in magnitude)");
    return x;
  }
  Result<double> nonneg(const char* key, double dflt) const {
    if (!has(key)) return dflt;
    Result<double> r = num_value(obj_.at(key), key);
    if (!r) return r;
    if (*r < 0) return err(std::string("field '") + key + "' is negative");
    return r;
  }

 private:
  Result<std::string> str_value(const char* key) const {
    const json& v = obj_.at(key);
    if (!v.is_string()) return err(std::string("field '") + key + "' must be a string");
    return v.get<std::string>();
  }
  const json& obj_;
  std::string source_, where_;
};

Status check_format(const json& doc, const std::string& source, const std::string& expected) {
  if (!doc.is_object()) return fail(source + ": expected a JSON object at the top level");
  if (doc.contains("format")) {
    if (!doc["format"].is_string() || doc["format"].get<std::string>() != expected)
      return fail(source + ": field 'format' must be \"" + expected + "\"");
  }
  return {};
}

Result<const json*> array_field(const json& doc, const char* key, const std::string& source, bool required) {
  static const json kEmpty = json::array();
  if (!doc.contains(key)) {
    if (required) return fail(source + ": missing required field '" + key + "'");
    return &kEmpty;
  }
  if (!doc[key].is_array()) return fail(source + ": field '" + key + "' must be an array");
  return &doc[key];
}

}  // namespace

Result<Graph> parse_graph(const std::string& text, const std::string& source) {
  Result<json> doc = parse_json(text, source);
  if (!doc) return doc.error();
  if (Status s = check_format(*doc, source, "diviml.graph/1"); !s) return s.error();
  Graph g;
  Fields top(*doc, source, "");
  auto name = top.str_or("name", std::filesystem::path(source).stem().string());
  if (!name) return name.error();
  g.name = *name;
  auto batch = top.nonneg("batch", 1.0);
  if (!batch) return batch.error();
  if (*batch < 1 || *batch != std::floor(*batch) || *batch > 1e9)
    return fail(source + ": field 'batch' must be a whole number from 1 to 1e9");
  g.batch = static_cast<int>(*batch);
  auto nodes = array_field(*doc, "nodes", source, true);
  if (!nodes) return nodes.error();
  for (size_t i = 0; i < (*nodes)->size(); ++i) {
    const json& jn = (**nodes)[i];
    std::string where = "node #" + std::to_string(i);
    if (!jn.is_object()) return fail(source + ": " + where + ": expected an object");
    Fields f(jn, source, where);
    auto id = f.str("id");
    if (!id) return id.error();
    where = "node '" + *id + "'";
    Fields fn(jn, source, where);
    Node v;
    v.id = *id;
    auto op = fn.str_or("op", "unknown");
    if (!op) return op.error();
    v.op = *op;
    if (jn.contains("cost_us")) {
      const json& c = jn["cost_us"];
      if (!c.is_object()) return fn.err("field 'cost_us' must be an object of device -> microseconds");
      for (auto it = c.begin(); it != c.end(); ++it) {
        if (it->is_null()) {
          v.cost_us[it.key()] = std::nullopt;
          continue;
        }
        auto x = fn.num_value(*it, "cost_us." + it.key());
        if (!x) return x.error();
        if (*x < 0) return fn.err("field 'cost_us." + it.key() + "' is negative");
        v.cost_us[it.key()] = *x;
      }
    }
    for (auto [key, dst] : {std::pair<const char*, std::optional<double>*>{"flops", &v.flops},
                            {"bytes_accessed", &v.bytes_accessed},
                            {"output_bytes", &v.output_bytes}}) {
      auto x = fn.opt_num(key);
      if (!x) return x.error();
      if (*x && **x < 0) return fn.err(std::string("field '") + key + "' is negative");
      *dst = *x;
    }
    auto pb = fn.nonneg("param_bytes", 0.0);
    if (!pb) return pb.error();
    v.param_bytes = *pb;
    auto ib = fn.nonneg("input_bytes", 0.0);
    if (!ib) return ib.error();
    v.input_bytes = *ib;
    auto sb = fn.nonneg("state_bytes", 0.0);
    if (!sb) return sb.error();
    v.state_bytes = *sb;
    auto wb = fn.nonneg("workspace_bytes", 0.0);
    if (!wb) return wb.error();
    v.workspace_bytes = *wb;
    if (fn.has("colocate")) {
      auto group = fn.str("colocate");
      if (!group) return group.error();
      if (group->empty()) return fn.err("field 'colocate' is empty (omit it for no group)");
      v.colocate = *group;
    }
    if (g.find(v.id) >= 0) return fail(source + ": " + where + ": duplicate id");
    g.add_node(std::move(v));
  }
  auto edges = array_field(*doc, "edges", source, false);
  if (!edges) return edges.error();
  for (size_t i = 0; i < (*edges)->size(); ++i) {
    const json& je = (**edges)[i];
    std::string where = "edge #" + std::to_string(i);
    if (!je.is_object()) return fail(source + ": " + where + ": expected an object");
    Fields f(je, source, where);
    auto src = f.str("src");
    if (!src) return src.error();
    auto dst = f.str("dst");
    if (!dst) return dst.error();
    Fields fe(je, source, "edge " + *src + " -> " + *dst);
    auto bytes = fe.opt_num("bytes");
    if (!bytes) return bytes.error();
    if (*bytes && **bytes < 0) return fe.err("field 'bytes' is negative");
    if (Status s = g.add_edge(*src, *dst, *bytes); !s) return fail(source + ": " + s.error().message);
  }
  if (Status s = g.finalize(); !s) return fail(source + ": " + s.error().message);
  return g;
}

Result<Platform> parse_platform(const std::string& text, const std::string& source) {
  Result<json> doc = parse_json(text, source);
  if (!doc) return doc.error();
  if (Status s = check_format(*doc, source, "diviml.platform/1"); !s) return s.error();
  Platform p;
  Fields top(*doc, source, "");
  auto name = top.str_or("name", std::filesystem::path(source).stem().string());
  if (!name) return name.error();
  p.name = *name;
  auto devices = array_field(*doc, "devices", source, true);
  if (!devices) return devices.error();
  // Per device pair the problem keeps link tables (devices^2): the count is checked first.
  if ((*devices)->size() > static_cast<size_t>(kMaxPlatformDevices))
    return fail(source + ": field 'devices' holds " + std::to_string((*devices)->size()) + " devices; at most " +
                std::to_string(kMaxPlatformDevices) + " are planned for");
  for (size_t i = 0; i < (*devices)->size(); ++i) {
    const json& jd = (**devices)[i];
    std::string where = "device #" + std::to_string(i);
    if (!jd.is_object()) return fail(source + ": " + where + ": expected an object");
    auto dname = Fields(jd, source, where).str("name");
    if (!dname) return dname.error();
    Fields f(jd, source, "device '" + *dname + "'");
    Device d;
    d.name = *dname;
    auto kind = f.str("kind");
    if (!kind) return kind.error();
    d.kind = *kind;
    auto server = f.str_or("server", "node0");
    if (!server) return server.error();
    d.server = *server;
    for (auto [key, dst] : {std::pair<const char*, std::optional<double>*>{"peak_gflops", &d.peak_gflops},
                            {"mem_bandwidth_gbps", &d.mem_bandwidth_gbps},
                            {"memory_bytes", &d.memory_bytes}}) {
      auto x = f.opt_num(key);
      if (!x) return x.error();
      *dst = *x;
    }
    auto lo = f.nonneg("launch_overhead_us", 0.0);
    if (!lo) return lo.error();
    d.launch_overhead_us = *lo;
    if (jd.contains("overlap_comm")) {
      if (!jd["overlap_comm"].is_boolean()) return f.err("field 'overlap_comm' must be true or false");
      d.overlap_comm = jd["overlap_comm"].get<bool>();
    }
    if (p.find(d.name) >= 0) return f.err("duplicate device name");
    p.devices.push_back(std::move(d));
  }
  if (p.devices.empty()) return fail(source + ": field 'devices' is empty");
  auto host = top.str_or("host", p.devices.front().name);
  if (!host) return host.error();
  p.host = p.find(*host);
  if (p.host < 0) return fail(source + ": field 'host': unknown device '" + *host + "'");
  auto read_link = [&](const json& jl, const std::string& where) -> Result<Link> {
    Fields f(jl, source, where);
    auto lat = f.nonneg("latency_us", 0.0);
    if (!lat) return lat.error();
    auto bw = f.num("bandwidth_gbps");
    if (!bw) return bw.error();
    if (*bw <= 0) return f.err("field 'bandwidth_gbps' must be positive");
    return Link{*lat, *bw};
  };
  auto links = array_field(*doc, "links", source, false);
  if (!links) return links.error();
  std::vector<std::pair<std::pair<int, int>, std::pair<Link, bool>>> pending;
  for (size_t i = 0; i < (*links)->size(); ++i) {
    const json& jl = (**links)[i];
    std::string where = "link #" + std::to_string(i);
    if (!jl.is_object()) return fail(source + ": " + where + ": expected an object");
    Fields f(jl, source, where);
    auto a = f.str("a");
    if (!a) return a.error();
    auto b = f.str("b");
    if (!b) return b.error();
    where = "link " + *a + " - " + *b;
    int ia = p.find(*a), ib = p.find(*b);
    if (ia < 0) return fail(source + ": " + where + ": unknown device '" + *a + "'");
    if (ib < 0) return fail(source + ": " + where + ": unknown device '" + *b + "'");
    if (ia == ib) return fail(source + ": " + where + ": a link needs two different devices");
    auto l = read_link(jl, where);
    if (!l) return l.error();
    bool directed = jl.contains("directed") && jl["directed"].is_boolean() && jl["directed"].get<bool>();
    pending.push_back({{ia, ib}, {*l, directed}});
  }
  if (doc->contains("default_link") && !(*doc)["default_link"].is_null()) {
    if (!(*doc)["default_link"].is_object()) return fail(source + ": field 'default_link' must be an object");
    auto l = read_link((*doc)["default_link"], "default_link");
    if (!l) return l.error();
    p.set_default_link(*l);
  }
  auto server_links = top.str_or("server_links", "shared");
  if (!server_links) return server_links.error();
  if (*server_links != "shared" && *server_links != "dedicated")
    return fail(source + ": field 'server_links' must be \"shared\" or \"dedicated\", not \"" + *server_links + "\"");
  p.shared_server_links = *server_links == "shared";
  if (Status s = p.finalize(); !s) return fail(source + ": " + s.error().message);
  // Undirected entries first, so a directed entry overrides its direction only.
  std::stable_partition(pending.begin(), pending.end(), [](const auto& x) { return !x.second.second; });
  for (const auto& [ab, ld] : pending) p.set_link(ab.first, ab.second, ld.first, ld.second);
  return p;
}

Result<Plan> parse_plan(const std::string& text, const std::string& source, const Problem& pr) {
  Result<json> doc = parse_json(text, source);
  if (!doc) return doc.error();
  if (Status s = check_format(*doc, source, "diviml.plan/1"); !s) return s.error();
  const Graph& g = pr.graph();
  const Platform& pf = pr.platform();
  Fields top(*doc, source, "");
  Plan plan;
  auto solver = top.str_or("solver", "unknown");
  if (!solver) return solver.error();
  plan.solver = *solver;
  auto status = top.str_or("status", "heuristic");
  if (!status) return status.error();
  auto st = plan_status_from_string(*status);
  if (!st) return fail(source + ": field 'status': " + st.error().message);
  plan.status = *st;
  auto ms = top.num("makespan_us");
  if (!ms) return ms.error();
  plan.makespan_us = *ms;
  auto lb = top.nonneg("lower_bound_us", 0.0);
  if (!lb) return lb.error();
  plan.lower_bound_us = *lb;
  auto t = top.nonneg("solve_time_s", 0.0);
  if (!t) return t.error();
  plan.solve_time_s = *t;
  auto objective = top.str_or("objective", "latency");
  if (!objective) return objective.error();
  if (*objective != "latency" && *objective != "throughput")
    return fail(source + ": field 'objective': unknown objective '" + *objective +
                "' (expected latency or throughput)");
  plan.objective = *objective;
  const bool stream = plan.objective == "throughput";
  // A whole number >= 0 (lanes), from an optional field.
  auto lane_of = [&](const Fields& f, const char* key, double dflt) -> Result<int> {
    auto x = f.nonneg(key, dflt);
    if (!x) return x.error();
    if (*x != std::floor(*x) || *x > 1e6) return f.err(std::string("field '") + key + "' must be a whole number");
    return static_cast<int>(*x);
  };
  if (stream) {
    auto period = top.nonneg("period_us", 0.0);
    if (!period) return period.error();
    plan.period_us = *period;
    auto lat = top.nonneg("latency_us", plan.makespan_us);
    if (!lat) return lat.error();
    plan.latency_us = *lat;
    auto lanes = lane_of(top, "lanes", 1);
    if (!lanes) return lanes.error();
    if (*lanes < 1) return fail(source + ": field 'lanes' must be at least 1");
    // Every lane places every node: more lanes than placements is refused before anything of
    // the lanes' size is allocated (a file may claim any number).
    const json* placed = doc->contains("placements") ? &(*doc)["placements"] : nullptr;
    if (placed && placed->is_array() &&
        static_cast<size_t>(*lanes) * static_cast<size_t>(g.num_nodes()) != placed->size())
      return fail(source + ": field 'lanes' is " + std::to_string(*lanes) + " but the plan places " +
                  std::to_string(placed->size()) + " (lane, node) pairs for " + std::to_string(g.num_nodes()) +
                  " nodes");
    plan.lanes = *lanes;
  }
  auto placements = array_field(*doc, "placements", source, true);
  if (!placements) return placements.error();
  for (size_t i = 0; i < (*placements)->size(); ++i) {
    const json& jp = (**placements)[i];
    std::string where = "placement #" + std::to_string(i);
    if (!jp.is_object()) return fail(source + ": " + where + ": expected an object");
    Fields f(jp, source, where);
    auto node = f.str("node");
    if (!node) return node.error();
    Fields fp(jp, source, "placement of '" + *node + "'");
    auto dev = fp.str("device");
    if (!dev) return dev.error();
    Placement p;
    p.node = g.find(*node);
    if (p.node < 0) return fp.err("unknown node '" + *node + "'");
    p.device = pf.find(*dev);
    if (p.device < 0) return fp.err("unknown device '" + *dev + "'");
    auto s = fp.num("start_us");
    if (!s) return s.error();
    auto e = fp.num("end_us");
    if (!e) return e.error();
    p.start_us = *s;
    p.end_us = *e;
    if (stream) {
      auto lane = lane_of(fp, "lane", 0);
      if (!lane) return lane.error();
      p.lane = *lane;
      auto delay = lane_of(fp, "delay", 0);
      if (!delay) return delay.error();
      if (*delay > kMaxDelay) return fp.err("field 'delay' must be at most " + std::to_string(kMaxDelay));
      p.delay = *delay;
    }
    plan.placements.push_back(p);
  }
  auto transfers = array_field(*doc, "transfers", source, false);
  if (!transfers) return transfers.error();
  std::map<std::pair<int, int>, std::vector<int>> edge_of;
  for (int e = g.num_edges() - 1; e >= 0; --e) edge_of[{g.edges[e].src, g.edges[e].dst}].push_back(e);
  for (size_t i = 0; i < (*transfers)->size(); ++i) {
    const json& jt = (**transfers)[i];
    std::string where = "transfer #" + std::to_string(i);
    if (!jt.is_object()) return fail(source + ": " + where + ": expected an object");
    Fields f(jt, source, where);
    auto src = f.str("src");
    if (!src) return src.error();
    auto dst = f.str("dst");
    if (!dst) return dst.error();
    auto from = f.str("from");
    if (!from) return from.error();
    auto to = f.str("to");
    if (!to) return to.error();
    Transfer tr;
    auto it = edge_of.find({g.find(*src), g.find(*dst)});
    if (it == edge_of.end() || it->second.empty()) return f.err("no edge " + *src + " -> " + *dst + " in the graph");
    tr.edge = it->second.back();
    if (stream) {
      // A stream moves an edge's tensor once per lane: the edge is named, not used up.
      auto lane = lane_of(f, "lane", 0);
      if (!lane) return lane.error();
      tr.lane = *lane;
    } else {
      it->second.pop_back();
    }
    tr.from = pf.find(*from);
    tr.to = pf.find(*to);
    if (tr.from < 0) return f.err("unknown device '" + *from + "'");
    if (tr.to < 0) return f.err("unknown device '" + *to + "'");
    auto s = f.num("start_us");
    if (!s) return s.error();
    auto e = f.num("end_us");
    if (!e) return e.error();
    tr.start_us = *s;
    tr.end_us = *e;
    plan.transfers.push_back(tr);
  }
  // Host transfers: what the validator of a throughput plan checks against its replay (a
  // latency plan's are derived from its placements and only read here).
  auto host = array_field(*doc, "host_transfers", source, false);
  if (!host) return host.error();
  for (size_t i = 0; i < (*host)->size(); ++i) {
    const json& jt = (**host)[i];
    std::string where = "host transfer #" + std::to_string(i);
    if (!jt.is_object()) return fail(source + ": " + where + ": expected an object");
    Fields f(jt, source, where);
    auto node = f.str("node");
    if (!node) return node.error();
    auto direction = f.str("direction");
    if (!direction) return direction.error();
    if (*direction != "input" && *direction != "output") return f.err("field 'direction' must be 'input' or 'output'");
    auto from = f.str("from");
    if (!from) return from.error();
    auto to = f.str("to");
    if (!to) return to.error();
    HostTransfer ht;
    ht.node = g.find(*node);
    if (ht.node < 0) return f.err("unknown node '" + *node + "'");
    ht.to_host = *direction == "output";
    ht.from = pf.find(*from);
    ht.to = pf.find(*to);
    if (ht.from < 0) return f.err("unknown device '" + *from + "'");
    if (ht.to < 0) return f.err("unknown device '" + *to + "'");
    auto s = f.num("start_us");
    if (!s) return s.error();
    auto e = f.num("end_us");
    if (!e) return e.error();
    auto bytes = f.nonneg("bytes", 0.0);
    if (!bytes) return bytes.error();
    ht.start_us = *s;
    ht.end_us = *e;
    ht.bytes = *bytes;
    if (stream) {
      auto lane = lane_of(f, "lane", 0);
      if (!lane) return lane.error();
      ht.lane = *lane;
    }
    plan.host_transfers.push_back(ht);
  }
  return plan;
}

namespace {

template <class T, class F>
Result<T> read_with(const std::string& path, F&& parse) {
  auto text = read_text_file(path);
  if (!text) return text.error();
  return parse(*text, path);
}

}  // namespace

Result<Graph> read_graph_file(const std::string& path) { return read_with<Graph>(path, parse_graph); }
Result<Platform> read_platform_file(const std::string& path) { return read_with<Platform>(path, parse_platform); }
Result<Plan> read_plan_file(const std::string& path, const Problem& problem) {
  auto text = read_text_file(path);
  if (!text) return text.error();
  return parse_plan(*text, path, problem);
}

std::string graph_to_json(const Graph& g) {
  json doc;
  doc["format"] = "diviml.graph/1";
  doc["name"] = g.name;
  if (g.batch != 1) doc["batch"] = g.batch;
  json nodes = json::array();
  for (const Node& v : g.nodes) {
    json jn;
    jn["id"] = v.id;
    jn["op"] = v.op;
    if (!v.cost_us.empty()) {
      json c = json::object();
      for (const auto& [d, x] : v.cost_us) c[d] = x ? json(*x) : json(nullptr);
      jn["cost_us"] = c;
    }
    if (v.flops) jn["flops"] = *v.flops;
    if (v.bytes_accessed) jn["bytes_accessed"] = *v.bytes_accessed;
    if (v.param_bytes > 0) jn["param_bytes"] = v.param_bytes;
    if (v.output_bytes) jn["output_bytes"] = *v.output_bytes;
    if (v.input_bytes > 0) jn["input_bytes"] = v.input_bytes;
    if (v.state_bytes > 0) jn["state_bytes"] = v.state_bytes;
    if (v.workspace_bytes > 0) jn["workspace_bytes"] = v.workspace_bytes;
    if (!v.colocate.empty()) jn["colocate"] = v.colocate;
    nodes.push_back(std::move(jn));
  }
  doc["nodes"] = std::move(nodes);
  json edges = json::array();
  for (const Edge& e : g.edges)
    edges.push_back({{"src", g.nodes[e.src].id}, {"dst", g.nodes[e.dst].id}, {"bytes", e.bytes}});
  doc["edges"] = std::move(edges);
  return to_text(doc, 1);
}

std::string platform_to_json(const Platform& p) {
  json doc;
  doc["format"] = "diviml.platform/1";
  doc["name"] = p.name;
  doc["host"] = p.devices[p.host].name;
  if (!p.shared_server_links) doc["server_links"] = "dedicated";
  json devs = json::array();
  for (const Device& d : p.devices) {
    json jd{{"name", d.name}, {"kind", d.kind}, {"server", d.server}, {"launch_overhead_us", d.launch_overhead_us}};
    if (!d.overlap_comm) jd["overlap_comm"] = false;
    if (d.peak_gflops) jd["peak_gflops"] = *d.peak_gflops;
    if (d.mem_bandwidth_gbps) jd["mem_bandwidth_gbps"] = *d.mem_bandwidth_gbps;
    if (d.memory_bytes) jd["memory_bytes"] = *d.memory_bytes;
    devs.push_back(jd);
  }
  doc["devices"] = devs;
  json links = json::array();
  const int k = p.num_devices();
  for (int a = 0; a < k; ++a)
    for (int b = 0; b < k; ++b) {
      if (a == b) continue;
      auto l = p.link(a, b);
      if (l)
        links.push_back({{"a", p.devices[a].name},
                         {"b", p.devices[b].name},
                         {"latency_us", l->latency_us},
                         {"bandwidth_gbps", l->bandwidth_gbps},
                         {"directed", true}});
    }
  doc["links"] = links;
  return to_text(doc, 2);
}

std::string plan_to_json(const Problem& pr, const Plan& plan) {
  const Graph& g = pr.graph();
  const Platform& pf = pr.platform();
  json doc;
  doc["format"] = "diviml.plan/1";
  doc["solver"] = plan.solver;
  doc["status"] = to_string(plan.status);
  const bool stream = plan.objective == "throughput";
  doc["objective"] = plan.objective;
  if (stream) {
    doc["period_us"] = plan.period_us;
    doc["throughput_per_s"] = plan.throughput_per_s();
    // An input of a graph exported at batch B carries B samples.
    if (g.batch != 1) doc["samples_per_s"] = plan.throughput_per_s() * g.batch;
    doc["latency_us"] = plan.latency_us;
    doc["lanes"] = plan.lanes;
  }
  doc["makespan_us"] = plan.makespan_us;
  doc["lower_bound_us"] = plan.lower_bound_us;
  doc["gap"] = plan.gap();
  {  // extension (issue 13): what each device holds at its fullest (objective/memory.hpp); for a
     // throughput plan, in the steady state
    const MemoryProfile mem = memory_profile(pr, plan);
    json peak = json::object();
    for (int d = 0; d < pr.num_devices(); ++d) peak[pf.devices[d].name] = mem.peak_bytes[d];
    doc["peak_memory_bytes"] = std::move(peak);
  }
  doc["solve_time_s"] = plan.solve_time_s;
  doc["graph"] = g.name;
  doc["platform"] = pf.name;
  json pl = json::array();
  for (const Placement& p : plan.placements) {
    pl.push_back({{"node", g.nodes[p.node].id},
                  {"device", pf.devices[p.device].name},
                  {"start_us", p.start_us},
                  {"end_us", p.end_us}});
    if (stream) pl.back()["lane"] = p.lane;
    if (stream && p.delay > 0) pl.back()["delay"] = p.delay;
  }
  doc["placements"] = std::move(pl);
  json tr = json::array();
  for (const Transfer& t : plan.transfers) {
    const Edge& e = g.edges[t.edge];
    tr.push_back({{"src", g.nodes[e.src].id},
                  {"dst", g.nodes[e.dst].id},
                  {"from", pf.devices[t.from].name},
                  {"to", pf.devices[t.to].name},
                  {"start_us", t.start_us},
                  {"end_us", t.end_us},
                  {"bytes", e.bytes}});
    if (stream) tr.back()["lane"] = t.lane;
  }
  doc["transfers"] = std::move(tr);
  json ht = json::array();
  for (const HostTransfer& t : plan.host_transfers)
    ht.push_back({{"node", g.nodes[t.node].id},
                  {"direction", t.to_host ? "output" : "input"},
                  {"from", pf.devices[t.from].name},
                  {"to", pf.devices[t.to].name},
                  {"start_us", t.start_us},
                  {"end_us", t.end_us},
                  {"bytes", t.bytes}});
  if (stream)
    for (size_t i = 0; i < plan.host_transfers.size(); ++i) ht[i]["lane"] = plan.host_transfers[i].lane;
  doc["host_transfers"] = std::move(ht);
  if (!plan.notes.empty()) doc["notes"] = plan.notes;
  if (!plan.modules.empty()) {
    json mods = json::array();
    for (const ModuleSummary& m : plan.modules) {
      json mod = {{"entry", m.entry >= 0 ? json(g.nodes[m.entry].id) : json(nullptr)},
                  {"exit", m.exit >= 0 ? json(g.nodes[m.exit].id) : json(nullptr)},
                  {"size", m.size},
                  {"channels", m.channels},
                  {"segments", m.segments},
                  {"chain", m.chain},
                  {"fused", m.fused},
                  {"proven", m.proven}};
      if (!m.cuts.empty()) {
        json cuts = json::array();
        for (const auto& cut : m.cuts) {
          json ids = json::array();
          for (int v : cut) ids.push_back(g.nodes[v].id);
          cuts.push_back(std::move(ids));
        }
        mod["cuts"] = std::move(cuts);
      }
      mods.push_back(std::move(mod));
    }
    doc["modules"] = std::move(mods);
  }
  return to_text(doc, 1);
}

Status plan_fits_files(const Plan& plan) {
  double most = std::max({plan.makespan_us, plan.period_us, plan.latency_us, plan.lower_bound_us});
  for (const Placement& p : plan.placements) most = std::max({most, std::abs(p.start_us), std::abs(p.end_us)});
  for (const Transfer& t : plan.transfers) most = std::max({most, std::abs(t.start_us), std::abs(t.end_us)});
  for (const HostTransfer& t : plan.host_transfers) most = std::max({most, std::abs(t.start_us), std::abs(t.end_us)});
  if (most <= kMaxValue) return {};
  char text[64];
  std::snprintf(text, sizeof text, "%.3g", most);
  return fail(std::string("the plan's times reach ") + text +
              " us, beyond the 1e18 that plan files hold (a cost or transfer of the graph and platform is that "
              "large: check peak_gflops, mem_bandwidth_gbps, bandwidths, launch_overhead_us and slowdowns)");
}

Result<std::string> read_text_stream(std::istream& in, const std::string& name) {
  std::string text;
  char buf[1 << 16];
  while (in) {
    in.read(buf, sizeof buf);
    const std::streamsize got = in.gcount();
    if (got <= 0) break;
    if (text.size() + static_cast<size_t>(got) > kMaxInputFileBytes)
      return fail(name + ": larger than " + std::to_string(kMaxInputFileBytes >> 20) +
                  " MiB, the limit of input files (not a graph, platform or plan file?)");
    text.append(buf, static_cast<size_t>(got));
  }
  if (in.bad()) return fail(name + ": read error");
  return text;
}

Result<std::string> read_text_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return fail(path + ": is a directory, not a file");
  // A regular file says its size before anything is read; anything else (a pipe, a device such
  // as /dev/zero) is read up to the limit and refused past it.
  if (std::filesystem::is_regular_file(path, ec)) {
    const auto size = std::filesystem::file_size(path, ec);
    if (!ec && size > kMaxInputFileBytes)
      return fail(path + ": " + std::to_string(size >> 20) + " MiB, larger than the " +
                  std::to_string(kMaxInputFileBytes >> 20) + " MiB limit of input files");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(path + ": cannot open file");
  return read_text_stream(in, path);
}

Status write_text_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  if (!out) return fail(path + ": cannot open file for writing");
  out << text;
  out.close();
  if (!out) return fail(path + ": write error");
  return {};
}

namespace {

std::string& data_dir_override() {
  static std::string dir;
  return dir;
}

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : std::string();
}

// The .json files of a folder (and of its subfolders, as "sub/name"), by name without ".json".
std::vector<std::string> json_names(const std::string& dir, bool recursive) {
  std::vector<std::string> names;
  std::error_code ec;
  const std::filesystem::path root(dir);
  auto add = [&](const std::filesystem::directory_entry& entry) {
    if (entry.path().extension() != ".json" || !entry.is_regular_file(ec)) return;
    std::filesystem::path rel = entry.path().lexically_relative(root);
    rel.replace_extension();
    names.push_back(rel.generic_string());
  };
  if (recursive) {
    for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec))
      add(*it);
  } else {
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) add(entry);
  }
  std::sort(names.begin(), names.end());
  return names;
}

// "a, b, c": the names a "no such ..." message lists.
std::string joined(const std::vector<std::string>& names) {
  std::string all;
  for (const auto& n : names) all += (all.empty() ? "" : ", ") + n;
  return all;
}

// A bundled name: no file of that name here, and no file extension given.
bool bundled_name(const std::string& spec) {
  std::error_code ec;
  if (spec.empty() || std::filesystem::exists(spec, ec)) return false;
  const std::string ext = std::filesystem::path(spec).extension().string();
  return ext != ".json" && ext != ".onnx";
}

}  // namespace

void set_bundled_data_dir(const std::string& dir) { data_dir_override() = dir; }

std::string bundled_data_dir() {
  if (std::string env = env_or_empty("DIVIML_DATA_DIR"); !env.empty()) return env;
  if (!data_dir_override().empty()) return data_dir_override();
  // Installed (cmake --install): PREFIX/bin/diviml finds PREFIX/share/diviml; else the source
  // tree. The executable does not move while it runs: looked up once.
  static const std::string found = [] {
    std::error_code ec;
    const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (!ec) {
      const std::filesystem::path share = exe.parent_path().parent_path() / "share" / "diviml";
      if (std::filesystem::is_directory(share / "platforms", ec)) return share.string();
    }
    return std::string(DIVIML_SOURCE_DATA_DIR);
  }();
  return found;
}

std::string bundled_platforms_dir() {
  if (std::string env = env_or_empty("DIVIML_PLATFORMS_DIR"); !env.empty()) return env;
  return bundled_data_dir() + "/platforms";
}

std::string bundled_models_dir() { return bundled_data_dir() + "/models"; }

std::vector<std::string> bundled_model_names() { return json_names(bundled_models_dir(), true); }

Result<std::string> graph_path(const std::string& spec) {
  if (!bundled_name(spec)) return spec;
  const std::string path = bundled_models_dir() + "/" + spec + ".json";
  std::error_code ec;
  if (spec.find("..") == std::string::npos && std::filesystem::is_regular_file(path, ec)) return path;
  return fail(spec + ": no such graph file or bundled model (bundled: " + joined(bundled_model_names()) + ")");
}

Result<Graph> load_graph(const std::string& spec) {
  auto path = graph_path(spec);
  if (!path) return path.error();
  return read_graph_file(*path);
}

std::vector<std::string> bundled_platform_names() { return json_names(bundled_platforms_dir(), false); }

Result<Platform> load_platform(const std::string& spec) {
  std::error_code ec;
  if (std::filesystem::is_regular_file(spec, ec)) return read_platform_file(spec);
  if (spec.find('/') == std::string::npos && spec.find(".json") == std::string::npos) {
    std::string path = bundled_platforms_dir() + "/" + spec + ".json";
    if (std::filesystem::is_regular_file(path, ec)) return read_platform_file(path);
    return fail(spec + ": no such platform file or bundled platform (bundled: " + joined(bundled_platform_names()) +
                ")");
  }
  return fail(spec + ": cannot open file");
}

}  // namespace diviml
