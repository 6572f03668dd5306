// The fuzzers' reader of their input: one byte at a time, zeros once it runs out (so every input,
// however short, decodes to an instance).
#pragma once

#include <cstddef>
#include <cstdint>

namespace diviml::fuzz {

class Bytes {
 public:
  Bytes(const std::uint8_t* d, std::size_t n) : d_(d), n_(n) {}
  unsigned next() { return i_ < n_ ? d_[i_++] : 0; }

 private:
  const std::uint8_t* d_;
  std::size_t n_, i_ = 0;
};

}  // namespace diviml::fuzz
