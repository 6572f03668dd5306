// ONNX ops evaluated on known tensors, for constant folding.
#include "onnx_eval.hpp"

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

namespace diviml::onnx_passes::detail {
namespace {

long long attr_int(const onnx::NodeProto& n, const std::string& name, long long dflt) {
  for (const auto& a : n.attribute())
    if (a.name() == name) return a.i();
  return dflt;
}

const onnx::AttributeProto* attr(const onnx::NodeProto& n, const std::string& name) {
  for (const auto& a : n.attribute())
    if (a.name() == name) return &a;
  return nullptr;
}

// Row-major strides of a shape.
std::vector<long long> strides_of(const std::vector<long long>& dims) {
  std::vector<long long> s(dims.size(), 1);
  for (size_t k = dims.size(); k-- > 1;) s[k - 1] = s[k] * dims[k];
  return s;
}

// The numpy broadcast of two shapes, or nothing when they do not broadcast.
std::optional<std::vector<long long>> broadcast(const std::vector<long long>& a, const std::vector<long long>& b) {
  const size_t r = std::max(a.size(), b.size());
  std::vector<long long> out(r);
  for (size_t k = 0; k < r; ++k) {
    const long long x = k < r - a.size() ? 1 : a[k - (r - a.size())];
    const long long y = k < r - b.size() ? 1 : b[k - (r - b.size())];
    if (x != y && x != 1 && y != 1) return std::nullopt;
    out[k] = x == 1 ? y : x;
  }
  return out;
}

// For each element of `out` (row-major), the index of the element of `in` it reads under broadcasting.
std::vector<size_t> broadcast_index(const std::vector<long long>& out, const std::vector<long long>& in) {
  const long long n = count(out);
  std::vector<size_t> idx(static_cast<size_t>(std::max(0LL, n)));
  const auto in_strides = strides_of(in);
  const size_t off = out.size() - in.size();
  std::vector<long long> pos(out.size(), 0);
  for (size_t e = 0; e < idx.size(); ++e) {
    long long k = 0;
    for (size_t d = 0; d < in.size(); ++d)
      if (in[d] != 1) k += pos[d + off] * in_strides[d];
    idx[e] = static_cast<size_t>(k);
    for (size_t d = out.size(); d-- > 0;) {
      if (++pos[d] < out[d]) break;
      pos[d] = 0;
    }
  }
  return idx;
}

Value like(int type, std::vector<long long> dims) {
  Value v;
  v.type = type;
  v.dims = std::move(dims);
  const size_t n = static_cast<size_t>(std::max(0LL, count(v.dims)));
  if (v.integer())
    v.i.assign(n, 0);
  else
    v.f.assign(n, 0.0);
  return v;
}

// out[to] = x[from], in whichever of the two stores their (same) type uses.
void copy_element(Value& out, size_t to, const Value& x, size_t from) {
  if (out.integer())
    out.i[to] = x.i[from];
  else
    out.f[to] = x.f[from];
}

// A tensor of shape `dims` whose element at position p (row-major) is x's element at
// base + sum_d p[d] * step[d]: a slice (steps are strides times slice steps) or a transpose
// (steps are x's strides in the permuted order).
Value strided_copy(const Value& x, const std::vector<long long>& dims, long long base,
                   const std::vector<long long>& step) {
  Value out = like(x.type, dims);
  const size_t rank = dims.size();
  std::vector<long long> pos(rank, 0);
  for (size_t e = 0; e < out.numel(); ++e) {
    long long k = base;
    for (size_t d = 0; d < rank; ++d) k += pos[d] * step[d];
    copy_element(out, e, x, static_cast<size_t>(k));
    for (size_t d = rank; d-- > 0;) {
      if (++pos[d] < dims[d]) break;
      pos[d] = 0;
    }
  }
  return out;
}

// A 1-D list of integers (axes, shapes, starts) from a known tensor.
std::vector<long long> ints_of(const Value& v) {
  if (v.integer()) return v.i;
  std::vector<long long> out;
  for (double x : v.f) out.push_back(static_cast<long long>(x));
  return out;
}

bool normalise_axis(long long& axis, size_t rank) {
  const long long r = static_cast<long long>(rank);
  if (axis < -r || axis >= r) return false;
  if (axis < 0) axis += r;
  return true;
}

using Outputs = std::vector<Value>;

std::optional<Outputs> binary(const std::string& op, const onnx::NodeProto& n, const Value& a, const Value& b) {
  auto dims = broadcast(a.dims, b.dims);
  if (!dims || count(*dims) < 0) return std::nullopt;
  const bool compare =
      op == "Equal" || op == "Less" || op == "Greater" || op == "LessOrEqual" || op == "GreaterOrEqual";
  const bool integer = a.integer() && b.integer();
  if (!compare && a.type != b.type) return std::nullopt;
  Value out = like(compare ? static_cast<int>(T::TensorProto_DataType_BOOL) : a.type, *dims);
  const auto ia = broadcast_index(*dims, a.dims), ib = broadcast_index(*dims, b.dims);
  const bool fmod = attr_int(n, "fmod", 0) != 0;
  for (size_t e = 0; e < ia.size(); ++e) {
    if (compare) {
      const double x = a.real(ia[e]), y = b.real(ib[e]);
      bool r = op == "Equal"         ? (integer ? a.i[ia[e]] == b.i[ib[e]] : x == y)
               : op == "Less"        ? x < y
               : op == "Greater"     ? x > y
               : op == "LessOrEqual" ? x <= y
                                     : x >= y;
      out.i[e] = r;
      continue;
    }
    if (integer) {
      const long long x = a.i[ia[e]], y = b.i[ib[e]];
      long long r = 0;
      if (op == "Add") {
        if (__builtin_add_overflow(x, y, &r)) return std::nullopt;
      } else if (op == "Sub") {
        if (__builtin_sub_overflow(x, y, &r)) return std::nullopt;
      } else if (op == "Mul") {
        if (__builtin_mul_overflow(x, y, &r)) return std::nullopt;
      } else if (op == "Div" || op == "Mod") {
        if (y == 0 || (x == std::numeric_limits<long long>::min() && y == -1)) return std::nullopt;
        if (op == "Div") {
          r = x / y;
        } else {
          r = x % y;
          if (!fmod && r != 0 && ((r < 0) != (y < 0))) r += y;  // the divisor's sign
        }
      } else if (op == "Max") {
        r = std::max(x, y);
      } else {  // Min
        r = std::min(x, y);
      }
      out.i[e] = r;
    } else {
      const double x = a.f[ia[e]], y = b.f[ib[e]];
      double r = op == "Add"   ? x + y
                 : op == "Sub" ? x - y
                 : op == "Mul" ? x * y
                 : op == "Div" ? x / y
                 : op == "Pow" ? std::pow(x, y)
                 : op == "Max" ? std::max(x, y)
                 : op == "Min" ? std::min(x, y)
                               : std::fmod(x, y);
      if (op == "Mod" && !fmod) return std::nullopt;  // float Mod needs fmod=1
      out.f[e] = r;
    }
  }
  return Outputs{out};
}

std::optional<Outputs> slice(const onnx::NodeProto& n, const std::vector<const Value*>& in) {
  const Value& x = *in[0];
  const size_t rank = x.dims.size();
  std::vector<long long> starts, ends, axes, steps;
  if (in.size() >= 3) {
    starts = ints_of(*in[1]);
    ends = ints_of(*in[2]);
    if (in.size() >= 4 && in[3]) axes = ints_of(*in[3]);
    if (in.size() >= 5 && in[4]) steps = ints_of(*in[4]);
  } else {  // opset < 10: attributes
    if (auto* a = attr(n, "starts")) starts.assign(a->ints().begin(), a->ints().end());
    if (auto* a = attr(n, "ends")) ends.assign(a->ints().begin(), a->ints().end());
    if (auto* a = attr(n, "axes")) axes.assign(a->ints().begin(), a->ints().end());
  }
  if (starts.size() != ends.size()) return std::nullopt;
  if (axes.empty())
    for (size_t k = 0; k < starts.size(); ++k) axes.push_back(static_cast<long long>(k));
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (axes.size() != starts.size() || steps.size() != starts.size()) return std::nullopt;
  std::vector<long long> first(rank, 0), step(rank, 1), len(x.dims);
  for (size_t k = 0; k < starts.size(); ++k) {
    long long axis = axes[k];
    if (!normalise_axis(axis, rank) || steps[k] == 0) return std::nullopt;
    const long long d = x.dims[static_cast<size_t>(axis)], s = steps[k];
    long long b = starts[k], e = ends[k];
    if (b < 0) b += d;  // no overflow: d >= 0
    if (e < 0) e += d;
    if (s > 0) {
      b = std::clamp(b, 0LL, d);
      e = std::clamp(e, 0LL, d);
      len[static_cast<size_t>(axis)] = e > b ? (e - b + s - 1) / s : 0;
    } else {
      b = std::clamp(b, 0LL, d - 1);
      e = std::clamp(e, -1LL, d - 1);
      len[static_cast<size_t>(axis)] = b > e ? (b - e - s - 1) / -s : 0;
    }
    first[static_cast<size_t>(axis)] = b;
    step[static_cast<size_t>(axis)] = s;
  }
  const auto xs = strides_of(x.dims);
  long long base = 0;
  std::vector<long long> stride(rank);
  for (size_t d = 0; d < rank; ++d) base += first[d] * xs[d], stride[d] = step[d] * xs[d];
  return Outputs{strided_copy(x, len, base, stride)};
}

std::optional<Outputs> gather(const onnx::NodeProto& n, const Value& x, const Value& idx) {
  long long axis = attr_int(n, "axis", 0);
  if (!normalise_axis(axis, x.dims.size()) || !idx.integer()) return std::nullopt;
  const size_t ax = static_cast<size_t>(axis);
  std::vector<long long> dims(x.dims.begin(), x.dims.begin() + static_cast<long>(ax));
  dims.insert(dims.end(), idx.dims.begin(), idx.dims.end());
  dims.insert(dims.end(), x.dims.begin() + static_cast<long>(ax) + 1, x.dims.end());
  if (count(dims) < 0) return std::nullopt;
  Value out = like(x.type, dims);
  long long outer = 1, inner = 1;
  for (size_t d = 0; d < ax; ++d) outer *= x.dims[d];
  for (size_t d = ax + 1; d < x.dims.size(); ++d) inner *= x.dims[d];
  const long long extent = x.dims[ax];
  size_t e = 0;
  for (long long o = 0; o < outer; ++o)
    for (long long j : idx.i) {
      if (j < 0) j += extent;
      if (j < 0 || j >= extent) return std::nullopt;
      for (long long r = 0; r < inner; ++r, ++e) {
        const size_t from = static_cast<size_t>((o * extent + j) * inner + r);
        copy_element(out, e, x, from);
      }
    }
  return Outputs{out};
}

std::optional<Outputs> concat(const onnx::NodeProto& n, const std::vector<const Value*>& in) {
  if (in.empty()) return std::nullopt;
  const Value& a = *in[0];
  long long axis = attr_int(n, "axis", 0);
  if (!normalise_axis(axis, a.dims.size())) return std::nullopt;
  const size_t ax = static_cast<size_t>(axis);
  std::vector<long long> dims = a.dims;
  dims[ax] = 0;
  for (const Value* v : in) {
    if (v->type != a.type || v->dims.size() != a.dims.size()) return std::nullopt;
    for (size_t d = 0; d < dims.size(); ++d)
      if (d != ax && v->dims[d] != a.dims[d]) return std::nullopt;
    dims[ax] += v->dims[ax];
  }
  if (count(dims) < 0) return std::nullopt;
  Value out = like(a.type, dims);
  long long outer = 1, inner = 1;
  for (size_t d = 0; d < ax; ++d) outer *= dims[d];
  for (size_t d = ax + 1; d < dims.size(); ++d) inner *= dims[d];
  size_t e = 0;
  for (long long o = 0; o < outer; ++o)
    for (const Value* v : in) {
      const long long chunk = v->dims[ax] * inner;
      for (long long r = 0; r < chunk; ++r, ++e) {
        const size_t from = static_cast<size_t>(o * chunk + r);
        copy_element(out, e, *v, from);
      }
    }
  return Outputs{out};
}

// Reshape-like ops that keep the data and change the shape.
std::optional<Outputs> reshaped(Value x, std::vector<long long> dims) {
  if (count(dims) != static_cast<long long>(x.numel())) return std::nullopt;
  x.dims = std::move(dims);
  return Outputs{std::move(x)};
}

std::optional<Outputs> reshape(const onnx::NodeProto& n, const Value& x, const Value& shape) {
  std::vector<long long> dims = ints_of(shape);
  const bool allowzero = attr_int(n, "allowzero", 0) != 0;
  int infer = -1;
  long long known = 1;
  for (size_t k = 0; k < dims.size(); ++k) {
    if (dims[k] == 0 && !allowzero) {
      if (k >= x.dims.size()) return std::nullopt;
      dims[k] = x.dims[k];
    }
    if (dims[k] == -1) {
      if (infer >= 0) return std::nullopt;
      infer = static_cast<int>(k);
    } else if (dims[k] < 0) {
      return std::nullopt;
    } else {
      known *= std::max(1LL, dims[k]);
      if (known > kMaxElements) return std::nullopt;
    }
  }
  if (infer >= 0) {
    if (known == 0 || static_cast<long long>(x.numel()) % known) return std::nullopt;
    dims[static_cast<size_t>(infer)] = static_cast<long long>(x.numel()) / known;
  }
  return reshaped(x, dims);
}

std::optional<std::vector<long long>> axes_of(const onnx::NodeProto& n, const std::vector<const Value*>& in) {
  if (in.size() >= 2 && in[1]) return ints_of(*in[1]);
  if (auto* a = attr(n, "axes")) return std::vector<long long>(a->ints().begin(), a->ints().end());
  return std::vector<long long>{};
}

std::optional<Outputs> unsqueeze(const onnx::NodeProto& n, const std::vector<const Value*>& in) {
  auto axes = axes_of(n, in);
  const Value& x = *in[0];
  const size_t rank = x.dims.size() + axes->size();
  std::vector<bool> added(rank, false);
  for (long long a : *axes) {
    if (!normalise_axis(a, rank) || added[static_cast<size_t>(a)]) return std::nullopt;
    added[static_cast<size_t>(a)] = true;
  }
  std::vector<long long> dims;
  size_t next = 0;
  for (size_t d = 0; d < rank; ++d) dims.push_back(added[d] ? 1 : x.dims[next++]);
  return reshaped(x, dims);
}

std::optional<Outputs> squeeze(const onnx::NodeProto& n, const std::vector<const Value*>& in) {
  auto axes = axes_of(n, in);
  const Value& x = *in[0];
  std::vector<bool> drop(x.dims.size(), false);
  if (axes->empty())
    for (size_t d = 0; d < x.dims.size(); ++d) drop[d] = x.dims[d] == 1;
  for (long long a : *axes) {
    if (!normalise_axis(a, x.dims.size()) || x.dims[static_cast<size_t>(a)] != 1) return std::nullopt;
    drop[static_cast<size_t>(a)] = true;
  }
  std::vector<long long> dims;
  for (size_t d = 0; d < x.dims.size(); ++d)
    if (!drop[d]) dims.push_back(x.dims[d]);
  return reshaped(x, dims);
}

std::optional<Outputs> expand(const Value& x, const Value& shape) {
  auto dims = broadcast(x.dims, ints_of(shape));
  if (!dims || count(*dims) < 0) return std::nullopt;
  Value out = like(x.type, *dims);
  const auto idx = broadcast_index(*dims, x.dims);
  for (size_t e = 0; e < idx.size(); ++e) {
    copy_element(out, e, x, idx[e]);
  }
  return Outputs{out};
}

std::optional<Outputs> transpose(const onnx::NodeProto& n, const Value& x) {
  const size_t rank = x.dims.size();
  std::vector<long long> perm;
  if (auto* a = attr(n, "perm")) perm.assign(a->ints().begin(), a->ints().end());
  if (perm.empty())
    for (size_t d = rank; d-- > 0;) perm.push_back(static_cast<long long>(d));
  if (perm.size() != rank) return std::nullopt;
  std::vector<bool> seen(rank, false);
  std::vector<long long> dims(rank);
  for (size_t d = 0; d < rank; ++d) {
    if (perm[d] < 0 || perm[d] >= static_cast<long long>(rank) || seen[static_cast<size_t>(perm[d])])
      return std::nullopt;
    seen[static_cast<size_t>(perm[d])] = true;
    dims[d] = x.dims[static_cast<size_t>(perm[d])];
  }
  const auto xs = strides_of(x.dims);
  std::vector<long long> stride(rank);
  for (size_t d = 0; d < rank; ++d) stride[d] = xs[static_cast<size_t>(perm[d])];
  return Outputs{strided_copy(x, dims, 0, stride)};
}

std::optional<Outputs> scatter_nd(const Value& data, const Value& idx, const Value& upd) {
  if (!idx.integer() || idx.dims.empty() || upd.type != data.type) return std::nullopt;
  const size_t k = static_cast<size_t>(idx.dims.back());
  if (k == 0 || k > data.dims.size()) return std::nullopt;
  long long slice = 1;
  for (size_t d = k; d < data.dims.size(); ++d) slice *= data.dims[d];
  const size_t rows = idx.numel() / k;
  if (static_cast<long long>(upd.numel()) != static_cast<long long>(rows) * slice) return std::nullopt;
  Value out = data;
  const auto ds = strides_of(data.dims);
  for (size_t r = 0; r < rows; ++r) {
    long long base = 0;
    for (size_t d = 0; d < k; ++d) {
      long long j = idx.i[r * k + d];
      if (j < 0) j += data.dims[d];
      if (j < 0 || j >= data.dims[d]) return std::nullopt;
      base += j * ds[d];
    }
    for (long long s = 0; s < slice; ++s) {
      const size_t to = static_cast<size_t>(base + s), from = static_cast<size_t>(r * slice + s);
      copy_element(out, to, upd, from);
    }
  }
  return Outputs{out};
}

std::optional<Outputs> cast(const onnx::NodeProto& n, const Value& x) {
  const int to = static_cast<int>(attr_int(n, "to", 0));
  if (!is_integer_type(to) && !is_real_type(to)) return std::nullopt;
  Value out = like(to, x.dims);
  for (size_t e = 0; e < x.numel(); ++e) {
    if (out.integer()) {
      const double r = x.real(e);
      if (to == T::TensorProto_DataType_BOOL)
        out.i[e] = r != 0;
      else if (x.integer())
        out.i[e] = x.i[e];
      else if (!std::isfinite(r) || std::fabs(r) >= 9.2e18)
        return std::nullopt;
      else
        out.i[e] = static_cast<long long>(r);
    } else {
      out.f[e] = x.real(e);
    }
  }
  return Outputs{out};
}

std::optional<Outputs> range(const Value& start, const Value& limit, const Value& delta) {
  if (start.numel() != 1 || limit.numel() != 1 || delta.numel() != 1) return std::nullopt;
  const double s = start.real(0), l = limit.real(0), d = delta.real(0);
  if (d == 0 || !std::isfinite(s) || !std::isfinite(l) || !std::isfinite(d)) return std::nullopt;
  const double steps = std::max(0.0, std::ceil((l - s) / d));
  if (steps > static_cast<double>(kMaxElements)) return std::nullopt;
  Value out = like(start.type, {static_cast<long long>(steps)});
  for (size_t e = 0; e < out.numel(); ++e) {
    if (out.integer())
      out.i[e] = start.i[0] + static_cast<long long>(e) * delta.i[0];
    else
      out.f[e] = s + static_cast<double>(e) * d;
  }
  return Outputs{out};
}

std::optional<Outputs> constant_of_shape(const onnx::NodeProto& n, const Value& shape) {
  Value fill = like(T::TensorProto_DataType_FLOAT, {1});
  if (auto* a = attr(n, "value"); a && a->has_t()) {
    auto v = read_tensor(a->t());
    if (!v || v->numel() != 1) return std::nullopt;
    fill = *v;
  }
  const auto dims = ints_of(shape);
  if (count(dims) < 0) return std::nullopt;
  Value out = like(fill.type, dims);
  if (out.integer())
    std::fill(out.i.begin(), out.i.end(), fill.i[0]);
  else
    std::fill(out.f.begin(), out.f.end(), fill.f[0]);
  return Outputs{out};
}

std::optional<Outputs> constant(const onnx::NodeProto& n) {
  for (const auto& a : n.attribute()) {
    if (a.name() == "value" && a.has_t()) {
      auto v = read_tensor(a.t());
      if (v) return Outputs{*v};
      return std::nullopt;
    }
    Value v;
    if (a.name() == "value_int") return Outputs{Value{T::TensorProto_DataType_INT64, {}, {a.i()}, {}}};
    if (a.name() == "value_ints") {
      v.dims = {a.ints_size()};
      v.i.assign(a.ints().begin(), a.ints().end());
      return Outputs{v};
    }
    if (a.name() == "value_float") return Outputs{Value{T::TensorProto_DataType_FLOAT, {}, {}, {a.f()}}};
    if (a.name() == "value_floats") {
      v.type = T::TensorProto_DataType_FLOAT;
      v.dims = {a.floats_size()};
      v.f.assign(a.floats().begin(), a.floats().end());
      return Outputs{v};
    }
  }
  return std::nullopt;
}

std::optional<Outputs> unary(const std::string& op, const Value& x) {
  Value out = x;
  for (size_t e = 0; e < x.numel(); ++e) {
    if (x.integer()) {
      long long v = x.i[e];
      if (op == "Neg") {
        if (v == std::numeric_limits<long long>::min()) return std::nullopt;
        out.i[e] = -v;
      } else if (op == "Abs") {
        if (v == std::numeric_limits<long long>::min()) return std::nullopt;
        out.i[e] = v < 0 ? -v : v;
      } else if (op == "Not") {
        out.i[e] = !v;
      } else if (op == "Floor" || op == "Ceil") {
        out.i[e] = v;
      } else {
        return std::nullopt;  // Sqrt of an integer is not defined
      }
    } else {
      const double v = x.f[e];
      out.f[e] = op == "Neg"     ? -v
                 : op == "Abs"   ? std::fabs(v)
                 : op == "Floor" ? std::floor(v)
                 : op == "Ceil"  ? std::ceil(v)
                 : op == "Sqrt"  ? std::sqrt(v)
                                 : (op == "Not" ? static_cast<double>(v == 0) : v);
    }
  }
  return Outputs{out};
}

std::optional<Outputs> where(const Value& c, const Value& x, const Value& y) {
  if (x.type != y.type) return std::nullopt;
  auto d1 = broadcast(c.dims, x.dims);
  if (!d1) return std::nullopt;
  auto dims = broadcast(*d1, y.dims);
  if (!dims || count(*dims) < 0) return std::nullopt;
  Value out = like(x.type, *dims);
  const auto ic = broadcast_index(*dims, c.dims), ix = broadcast_index(*dims, x.dims),
             iy = broadcast_index(*dims, y.dims);
  for (size_t e = 0; e < ic.size(); ++e) {
    const bool pick = c.real(ic[e]) != 0;
    copy_element(out, e, pick ? x : y, pick ? ix[e] : iy[e]);
  }
  return Outputs{out};
}

std::optional<Outputs> shape_of(const onnx::NodeProto& n, const Shapes& shapes) {
  auto it = shapes.find(n.input(0));
  if (it == shapes.end()) return std::nullopt;
  const long long rank = static_cast<long long>(it->second.size());
  long long start = attr_int(n, "start", 0), end = attr_int(n, "end", rank);
  if (start < 0) start += rank;
  if (end < 0) end += rank;
  start = std::clamp(start, 0LL, rank);
  end = std::clamp(end, 0LL, rank);
  Value v;
  for (long long d = start; d < end; ++d) v.i.push_back(it->second[static_cast<size_t>(d)]);
  v.dims = {static_cast<long long>(v.i.size())};
  return Outputs{v};
}

}  // namespace

// The shape of a tensor as recorded by shape inference (or the model), when fully static.

Shapes static_shapes(const onnx::GraphProto& gp) {
  Shapes shapes;
  auto record = [&](const onnx::ValueInfoProto& v) {
    if (!v.type().has_tensor_type() || !v.type().tensor_type().has_shape()) return;
    std::vector<long long> dims;
    for (const auto& d : v.type().tensor_type().shape().dim()) {
      if (!d.has_dim_value() || d.dim_value() < 0) return;
      dims.push_back(d.dim_value());
    }
    shapes[v.name()] = dims;
  };
  for (const auto& v : gp.input()) record(v);
  for (const auto& v : gp.value_info()) record(v);
  for (const auto& v : gp.output()) record(v);
  for (const auto& t : gp.initializer()) shapes[t.name()] = {t.dims().begin(), t.dims().end()};
  return shapes;
}

std::optional<Outputs> evaluate(const onnx::NodeProto& n, const std::vector<const Value*>& in, const Shapes& shapes) {
  const std::string& op = n.op_type();
  auto has = [&](size_t k) { return in.size() > k && in[k] != nullptr; };
  if (op == "Constant") return constant(n);
  if (op == "Shape") return n.input_size() >= 1 ? shape_of(n, shapes) : std::nullopt;
  if (op == "Size") {
    auto it = shapes.find(n.input_size() ? n.input(0) : "");
    if (it == shapes.end()) return std::nullopt;
    long long c = count(it->second);
    if (c < 0) return std::nullopt;
    return Outputs{Value{T::TensorProto_DataType_INT64, {}, {c}, {}}};
  }
  // Every other op reads only known inputs.
  for (size_t k = 0; k < in.size(); ++k)
    if (!in[k] && !n.input(static_cast<int>(k)).empty()) return std::nullopt;
  if (!has(0)) return std::nullopt;
  const Value& x = *in[0];
  if (op == "Identity") return Outputs{x};
  if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div" || op == "Mod" || op == "Pow" || op == "Equal" ||
      op == "Less" || op == "Greater" || op == "LessOrEqual" || op == "GreaterOrEqual") {
    if (!has(1)) return std::nullopt;
    if (op == "Pow" && (x.integer() || in[1]->type != x.type)) return std::nullopt;
    return binary(op, n, x, *in[1]);
  }
  if (op == "Max" || op == "Min") {
    std::optional<Outputs> acc = Outputs{x};
    for (size_t k = 1; k < in.size() && acc; ++k) acc = binary(op, n, (*acc)[0], *in[k]);
    return acc;
  }
  if (op == "Neg" || op == "Abs" || op == "Not" || op == "Floor" || op == "Ceil" || op == "Sqrt") return unary(op, x);
  if (op == "Cast") return cast(n, x);
  if (op == "Gather") return has(1) ? gather(n, x, *in[1]) : std::nullopt;
  if (op == "Concat") return concat(n, in);
  if (op == "Slice") return slice(n, in);
  if (op == "Reshape") return has(1) ? reshape(n, x, *in[1]) : std::nullopt;
  if (op == "Unsqueeze") return unsqueeze(n, in);
  if (op == "Squeeze") return squeeze(n, in);
  if (op == "Flatten") {
    long long axis = attr_int(n, "axis", 1);
    if (axis < 0) axis += static_cast<long long>(x.dims.size());
    if (axis < 0 || axis > static_cast<long long>(x.dims.size())) return std::nullopt;
    long long a = 1, b = 1;
    for (size_t d = 0; d < x.dims.size(); ++d) (static_cast<long long>(d) < axis ? a : b) *= x.dims[d];
    return reshaped(x, {a, b});
  }
  if (op == "Expand") return has(1) ? expand(x, *in[1]) : std::nullopt;
  if (op == "Transpose") return transpose(n, x);
  if (op == "ConstantOfShape") return constant_of_shape(n, x);
  if (op == "Range") return has(2) ? range(x, *in[1], *in[2]) : std::nullopt;
  if (op == "Where") return has(2) ? where(x, *in[1], *in[2]) : std::nullopt;
  if (op == "ScatterND") return has(2) && n.attribute_size() == 0 ? scatter_nd(x, *in[1], *in[2]) : std::nullopt;
  return std::nullopt;
}

std::optional<EinsumIndices> einsum_indices(const onnx::NodeProto& n,
                                            const std::vector<std::vector<long long>>& shapes) {
  std::string eq;
  for (const auto& a : n.attribute())
    if (a.name() == "equation") eq = a.s();
  if (eq.find('.') != std::string::npos) return std::nullopt;
  const size_t arrow = eq.find("->");
  EinsumIndices out;
  std::map<char, int> uses;
  size_t operand = 0, axis = 0;
  auto operand_done = [&] { return operand < shapes.size() && shapes[operand].size() == axis; };
  for (char c : eq.substr(0, arrow)) {
    if (c == ',') {
      if (!operand_done()) return std::nullopt;
      ++operand, axis = 0;
      continue;
    }
    if (!std::isalpha(static_cast<unsigned char>(c))) continue;
    if (operand >= shapes.size() || axis >= shapes[operand].size()) return std::nullopt;
    const long long d = shapes[operand][axis++];
    auto [it, fresh] = out.size.emplace(c, d);
    if (!fresh && it->second != d && it->second != 1 && d != 1) return std::nullopt;
    it->second = std::max(it->second, d);
    ++uses[c];
  }
  if (!operand_done() || operand + 1 != shapes.size()) return std::nullopt;
  if (arrow != std::string::npos) {
    out.output = eq.substr(arrow + 2);
  } else {
    for (const auto& [c, k] : uses)
      if (k == 1) out.output += c;
  }
  for (char c : out.output)
    if (!out.size.count(c)) return std::nullopt;
  return out;
}

}  // namespace diviml::onnx_passes::detail
