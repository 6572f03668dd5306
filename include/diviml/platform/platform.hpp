// Devices and links (platform file `diviml.platform/1`, docs/formats.md).
//
// Transfer time of `bytes` from device a to b != a is `latency_us + bytes / (gbps * 1e3)`
// microseconds; 0 on the same device. Links are symmetric unless marked directed; a pair
// without a link uses the default link; with neither the pair cannot communicate.
#pragma once

#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "diviml/core/result.hpp"

namespace diviml {

// Most devices a platform may have: the problem keeps tables per device pair (devices^2), so a
// file with more is refused before they are built (a 10,000-device file took 5.5 GB).
inline constexpr int kMaxPlatformDevices = 1024;

struct Device {
  std::string name;
  std::string kind;                          // "cpu", "gpu", ... (free text; identical kind+specs = symmetric)
  std::string server;                        // machine the device sits in
  std::optional<double> peak_gflops;         // 1e9 FLOP/s
  std::optional<double> mem_bandwidth_gbps;  // 1e9 B/s
  std::optional<double> memory_bytes;        // capacity for resident weights; none = unlimited
  double launch_overhead_us = 0;             // added to every analytic op cost
  // Copies overlap compute (copy engines, DMA). false: the device drives its sends and receives
  // itself and computes nothing meanwhile (throughput objective; docs/cost-model.md).
  bool overlap_comm = true;
};

struct Link {
  double latency_us = 0;
  double bandwidth_gbps = 0;
  double transfer_us(double bytes) const { return latency_us + bytes / (bandwidth_gbps * 1e3); }
};

class Platform {
 public:
  std::string name;
  std::vector<Device> devices;
  int host = 0;  // index of the host device
  // Copies between devices of different servers go through each device's share of its server's
  // NICs (docs/cost-model.md, "Links between servers"): in the throughput objective's steady
  // state a device sends one such copy at a time and receives one at a time, whatever the
  // peers. false ("server_links": "dedicated"): every pair of devices is its own link.
  bool shared_server_links = true;

  int num_devices() const { return static_cast<int>(devices.size()); }
  int find(const std::string& device_name) const;  // -1 when absent

  // Sets the link a -> b (and b -> a unless directed).
  void set_link(int a, int b, Link link, bool directed = false);
  void set_default_link(std::optional<Link> link) { default_link_ = link; }
  // Link used from a to b != a, or nullopt when the pair cannot communicate.
  std::optional<Link> link(int a, int b) const;
  // Transfer time in microseconds; +inf when the pair cannot communicate; 0 when a == b.
  double transfer_us(int a, int b, double bytes) const;

  // Whether a copy from a to b passes through both ends' NIC shares (different servers, and
  // the platform's server links are shared).
  bool crosses_servers(int a, int b) const {
    if (!shared_server_links || a == b) return false;
    if (server_index_.size() == devices.size()) return server_index_[a] != server_index_[b];
    return devices[a].server != devices[b].server;
  }
  // Whether any two devices sit in different servers with shared links between them.
  bool has_shared_server_links() const;

  // Checks names, host, specs; sizes the link table. Call after editing devices.
  Status finalize();

 private:
  std::vector<int> server_index_;           // per device: its server's index (set by finalize)
  std::vector<std::optional<Link>> links_;  // row-major num_devices^2
  std::optional<Link> default_link_;
};

inline constexpr double kInf = std::numeric_limits<double>::infinity();

}  // namespace diviml
