#include "diviml/platform/platform.hpp"

#include <cmath>
#include <map>
#include <set>

namespace diviml {

int Platform::find(const std::string& device_name) const {
  for (int i = 0; i < num_devices(); ++i)
    if (devices[i].name == device_name) return i;
  return -1;
}

void Platform::set_link(int a, int b, Link link, bool directed) {
  const int k = num_devices();
  if (static_cast<int>(links_.size()) != k * k) links_.assign(static_cast<size_t>(k) * k, std::nullopt);
  links_[a * k + b] = link;
  if (!directed) links_[b * k + a] = link;
}

std::optional<Link> Platform::link(int a, int b) const {
  const int k = num_devices();
  if (static_cast<int>(links_.size()) == k * k && links_[a * k + b]) return links_[a * k + b];
  return default_link_;
}

double Platform::transfer_us(int a, int b, double bytes) const {
  if (a == b) return 0.0;
  auto l = link(a, b);
  return l ? l->transfer_us(bytes) : kInf;
}

Status Platform::finalize() {
  if (devices.empty()) return fail("platform '" + name + "': no devices");
  if (devices.size() > static_cast<size_t>(kMaxPlatformDevices))
    return fail("platform '" + name + "': " + std::to_string(devices.size()) + " devices; at most " +
                std::to_string(kMaxPlatformDevices) + " are planned for");
  std::set<std::string> names;
  for (const Device& d : devices) {
    if (d.name.empty()) return fail("platform '" + name + "': a device has an empty name");
    if (!names.insert(d.name).second) return fail("device '" + d.name + "': duplicate name");
    auto positive = [&](const char* field, const std::optional<double>& v) -> Status {
      if (v && (!std::isfinite(*v) || *v <= 0))
        return fail("device '" + d.name + "': " + field + " must be a positive number");
      return {};
    };
    if (Status s = positive("peak_gflops", d.peak_gflops); !s) return s;
    if (Status s = positive("mem_bandwidth_gbps", d.mem_bandwidth_gbps); !s) return s;
    if (d.memory_bytes && (!std::isfinite(*d.memory_bytes) || *d.memory_bytes < 0))
      return fail("device '" + d.name + "': memory_bytes is negative or not finite");
    if (!std::isfinite(d.launch_overhead_us) || d.launch_overhead_us < 0)
      return fail("device '" + d.name + "': launch_overhead_us is negative or not finite");
  }
  if (host < 0 || host >= num_devices()) return fail("platform '" + name + "': host out of range");
  const int k = num_devices();
  if (static_cast<int>(links_.size()) != k * k) links_.resize(static_cast<size_t>(k) * k);
  std::map<std::string, int> servers;
  server_index_.clear();
  for (const Device& d : devices)
    server_index_.push_back(servers.emplace(d.server, static_cast<int>(servers.size())).first->second);
  return {};
}

bool Platform::has_shared_server_links() const {
  for (int d = 1; d < num_devices(); ++d)
    if (crosses_servers(0, d)) return true;
  return false;
}

}  // namespace diviml
