// Known tensor values: reading initializers and Constants, writing folded ones back.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "onnx_eval.hpp"

namespace diviml::onnx_passes::detail {

bool is_integer_type(int t) {
  switch (t) {
    case T::TensorProto_DataType_INT64:
    case T::TensorProto_DataType_INT32:
    case T::TensorProto_DataType_INT16:
    case T::TensorProto_DataType_INT8:
    case T::TensorProto_DataType_UINT8:
    case T::TensorProto_DataType_UINT16:
    case T::TensorProto_DataType_UINT32:
    case T::TensorProto_DataType_UINT64:
    case T::TensorProto_DataType_BOOL:
      return true;
    default:
      return false;
  }
}

bool is_real_type(int t) {
  return t == T::TensorProto_DataType_FLOAT || t == T::TensorProto_DataType_DOUBLE ||
         t == T::TensorProto_DataType_FLOAT16 || t == T::TensorProto_DataType_BFLOAT16;
}

long long count(const std::vector<long long>& dims) {
  long long n = 1;
  for (long long d : dims) {
    if (d < 0) return -1;
    if (d != 0 && n > kMaxElements / d) return -1;
    n *= d;
  }
  return n;
}

namespace {

// A little-endian value of type X at p (raw_data need not be aligned).
template <typename X>
X load(const char* p) {
  X x;
  std::memcpy(&x, p, sizeof x);
  return x;
}

float bfloat16_to_float(uint16_t b) {
  const uint32_t bits = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

float half_to_float(uint16_t h) {
  const uint32_t sign = (h >> 15) & 1, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  float v;
  if (exp == 0)
    v = std::ldexp(static_cast<float>(mant), -24);
  else if (exp == 31)
    v = mant ? std::numeric_limits<float>::quiet_NaN() : std::numeric_limits<float>::infinity();
  else
    v = std::ldexp(static_cast<float>(mant | 0x400), static_cast<int>(exp) - 25);
  return sign ? -v : v;
}

}  // namespace

std::optional<Value> read_tensor(const onnx::TensorProto& t) {
  if (t.data_location() == onnx::TensorProto_DataLocation_EXTERNAL) return std::nullopt;
  Value v;
  v.type = t.data_type();
  if (!is_integer_type(v.type) && !is_real_type(v.type)) return std::nullopt;
  v.dims.assign(t.dims().begin(), t.dims().end());
  const long long n = count(v.dims);
  if (n < 0) return std::nullopt;
  const size_t un = static_cast<size_t>(n);
  auto put = [&](size_t k, long long iv, double fv) {
    if (v.integer())
      v.i[k] = iv;
    else
      v.f[k] = fv;
  };
  if (v.integer())
    v.i.assign(un, 0);
  else
    v.f.assign(un, 0.0);
  if (t.has_raw_data()) {
    const std::string& raw = t.raw_data();
    size_t width = 0;
    switch (v.type) {
      case T::TensorProto_DataType_INT64:
      case T::TensorProto_DataType_UINT64:
      case T::TensorProto_DataType_DOUBLE:
        width = 8;
        break;
      case T::TensorProto_DataType_INT32:
      case T::TensorProto_DataType_UINT32:
      case T::TensorProto_DataType_FLOAT:
        width = 4;
        break;
      case T::TensorProto_DataType_INT16:
      case T::TensorProto_DataType_UINT16:
      case T::TensorProto_DataType_FLOAT16:
      case T::TensorProto_DataType_BFLOAT16:
        width = 2;
        break;
      default:
        width = 1;
    }
    if (raw.size() != un * width) return std::nullopt;
    for (size_t k = 0; k < un; ++k) {
      const char* p = raw.data() + k * width;
      switch (v.type) {
        case T::TensorProto_DataType_INT64:
        case T::TensorProto_DataType_UINT64:
          put(k, load<int64_t>(p), 0);
          break;
        case T::TensorProto_DataType_DOUBLE:
          put(k, 0, load<double>(p));
          break;
        case T::TensorProto_DataType_INT32:
          put(k, load<int32_t>(p), 0);
          break;
        case T::TensorProto_DataType_UINT32:
          put(k, load<uint32_t>(p), 0);
          break;
        case T::TensorProto_DataType_FLOAT:
          put(k, 0, load<float>(p));
          break;
        case T::TensorProto_DataType_INT16:
          put(k, load<int16_t>(p), 0);
          break;
        case T::TensorProto_DataType_UINT16:
          put(k, load<uint16_t>(p), 0);
          break;
        case T::TensorProto_DataType_FLOAT16:
          put(k, 0, half_to_float(load<uint16_t>(p)));
          break;
        case T::TensorProto_DataType_BFLOAT16:
          put(k, 0, bfloat16_to_float(load<uint16_t>(p)));
          break;
        case T::TensorProto_DataType_INT8:
          put(k, static_cast<int8_t>(*p), 0);
          break;
        default:  // UINT8, BOOL
          put(k, static_cast<uint8_t>(*p), 0);
      }
    }
    return v;
  }
  switch (v.type) {
    case T::TensorProto_DataType_INT64:
      if (static_cast<size_t>(t.int64_data_size()) != un) return std::nullopt;
      for (size_t k = 0; k < un; ++k) v.i[k] = t.int64_data(static_cast<int>(k));
      return v;
    case T::TensorProto_DataType_UINT64:
    case T::TensorProto_DataType_UINT32:
      if (static_cast<size_t>(t.uint64_data_size()) != un) return std::nullopt;
      for (size_t k = 0; k < un; ++k) v.i[k] = static_cast<long long>(t.uint64_data(static_cast<int>(k)));
      return v;
    case T::TensorProto_DataType_FLOAT:
      if (static_cast<size_t>(t.float_data_size()) != un) return std::nullopt;
      for (size_t k = 0; k < un; ++k) v.f[k] = t.float_data(static_cast<int>(k));
      return v;
    case T::TensorProto_DataType_DOUBLE:
      if (static_cast<size_t>(t.double_data_size()) != un) return std::nullopt;
      for (size_t k = 0; k < un; ++k) v.f[k] = t.double_data(static_cast<int>(k));
      return v;
    default:  // int32_data holds INT32, INT16, INT8, UINT8, UINT16, BOOL and half bits
      if (static_cast<size_t>(t.int32_data_size()) != un) return std::nullopt;
      for (size_t k = 0; k < un; ++k) {
        const int32_t x = t.int32_data(static_cast<int>(k));
        if (v.type == T::TensorProto_DataType_FLOAT16)
          v.f[k] = half_to_float(static_cast<uint16_t>(x));
        else if (v.type == T::TensorProto_DataType_BFLOAT16)
          v.f[k] = bfloat16_to_float(static_cast<uint16_t>(x & 0xffff));
        else if (v.integer())
          v.i[k] = x;
      }
      return v;
  }
}

onnx::TensorProto write_tensor(const Value& v, const std::string& name) {
  onnx::TensorProto t;
  t.set_name(name);
  t.set_data_type(v.type);
  for (long long d : v.dims) t.add_dims(d);
  switch (v.type) {
    case T::TensorProto_DataType_INT64:
      for (long long x : v.i) t.add_int64_data(x);
      break;
    case T::TensorProto_DataType_UINT64:
    case T::TensorProto_DataType_UINT32:
      for (long long x : v.i) t.add_uint64_data(static_cast<uint64_t>(x));
      break;
    case T::TensorProto_DataType_FLOAT:
      for (double x : v.f) t.add_float_data(static_cast<float>(x));
      break;
    case T::TensorProto_DataType_DOUBLE:
      for (double x : v.f) t.add_double_data(x);
      break;
    default:
      for (long long x : v.i) t.add_int32_data(static_cast<int32_t>(x));
  }
  return t;
}

}  // namespace diviml::onnx_passes::detail
