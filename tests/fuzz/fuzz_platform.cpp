// libFuzzer: the platform reader never crashes, and what it accepts writes and reads back.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "diviml/io/json_io.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto p = diviml::parse_platform(text, "fuzz.platform.json");
  if (!p) return 0;
  auto back = diviml::parse_platform(diviml::platform_to_json(*p), "back.platform.json");
  if (!back || back->num_devices() != p->num_devices()) std::abort();
  for (int a = 0; a < p->num_devices(); ++a)
    for (int b = 0; b < p->num_devices(); ++b)
      if (p->transfer_us(a, b, 1000) != back->transfer_us(a, b, 1000)) std::abort();
  return 0;
}
