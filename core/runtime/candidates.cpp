// candidates.cpp - checking a query's candidate inputs and cutting chosen candidates out of them.
#include "candidates.hpp"

#include <cstring>
#include <stdexcept>

namespace cagr {
namespace {

int64_t row_bytes(const HostTensor& t) {
  int64_t elements = 1;
  for (size_t i = 1; i < t.dims.size(); ++i) elements *= t.dims[i];
  return elements * static_cast<int64_t>(dtype_size(t.dtype));
}

}  // namespace

Candidates::Candidates(const CandidateLayout& layout, std::map<std::string, HostTensor> inputs)
    : layout_(layout), inputs_(std::move(inputs)), count_(-1) {
  for (const std::string& name : layout_.rows) {
    const HostTensor& t = named(name);
    if (t.dims.empty()) throw std::invalid_argument("candidate input '" + name + "' is a scalar, not one row per candidate");
    if (count_ >= 0 && t.dims[0] != count_)
      throw std::invalid_argument("candidate input '" + name + "' has " + std::to_string(t.dims[0]) + " rows, '" + layout_.rows[0] +
                                  "' " + std::to_string(count_));
    count_ = t.dims[0];
  }
  for (const CandidateLayout::Bags& bags : layout_.bags) {
    if (count_ >= 0 || bags.tables == 0) continue;
    const HostTensor& offsets = named(bags.offsets);
    if (offsets.dims.size() != 1 || offsets.dims[0] < 1)
      throw std::invalid_argument("candidate input '" + bags.offsets + "' must be a 1-D array of tables x candidates + 1 offsets");
    count_ = (offsets.dims[0] - 1) / bags.tables;
  }
  for (const CandidateLayout::Bags& bags : layout_.bags) {
    const HostTensor& indices = named(bags.indices);
    const HostTensor& offsets = named(bags.offsets);
    if (indices.dtype != CAGR_DTYPE_I64 || offsets.dtype != CAGR_DTYPE_I64 || indices.dims.size() != 1 || offsets.dims.size() != 1)
      throw std::invalid_argument("candidate inputs '" + bags.indices + "' and '" + bags.offsets + "' must be 1-D i64 arrays");
    const int64_t entries = offsets.dims[0];
    if (entries < 1 || (count_ == 0 ? entries != 1 : (entries - 1) % count_ != 0) ||
        (bags.tables > 0 && entries != bags.tables * count_ + 1))
      throw std::invalid_argument("candidate input '" + bags.offsets + "' has " + std::to_string(entries) +
                                  " entries, not tables x " + std::to_string(count_) + " candidates + 1");
    const int64_t* o = offsets.as<int64_t>();
    for (int64_t i = 0; i < entries; ++i)
      if (o[i] < 0 || o[i] > indices.dims[0] || (i > 0 && o[i] < o[i - 1]))
        throw std::invalid_argument("candidate input '" + bags.offsets + "'[" + std::to_string(i) + "] = " + std::to_string(o[i]) +
                                    ": offsets must not decrease and must lie within the " + std::to_string(indices.dims[0]) +
                                    " entries of '" + bags.indices + "'");
  }
}

const HostTensor& Candidates::named(const std::string& name) const {
  const auto it = inputs_.find(name);
  if (it == inputs_.end()) throw std::invalid_argument("the candidates have no input '" + name + "'");
  return it->second;
}

Candidates Candidates::select(const std::vector<int64_t>& chosen) const {
  for (int64_t c : chosen)
    if (c < 0 || c >= count_)
      throw std::invalid_argument("candidate " + std::to_string(c) + " chosen of " + std::to_string(count_));
  Candidates out;
  out.layout_ = layout_;
  out.count_ = static_cast<int64_t>(chosen.size());
  for (const std::string& name : layout_.rows) {
    const HostTensor& from = named(name);
    Dims dims = from.dims;
    dims[0] = out.count_;
    HostTensor to(from.dtype, dims);
    const int64_t bytes = row_bytes(from);
    for (size_t i = 0; i < chosen.size(); ++i)
      std::memcpy(to.data.data() + static_cast<int64_t>(i) * bytes, from.data.data() + chosen[i] * bytes, static_cast<size_t>(bytes));
    out.inputs_.emplace(name, std::move(to));
  }
  for (const CandidateLayout::Bags& bags : layout_.bags) {
    const int64_t* indices = named(bags.indices).as<int64_t>();
    const HostTensor& offsets_in = named(bags.offsets);
    const int64_t* offsets = offsets_in.as<int64_t>();
    const int64_t tables = count_ == 0 ? 0 : (offsets_in.dims[0] - 1) / count_;
    std::vector<int64_t> new_indices, new_offsets{0};
    new_offsets.reserve(static_cast<size_t>(tables * out.count_ + 1));
    for (int64_t t = 0; t < tables; ++t) {
      for (int64_t c : chosen) {
        new_indices.insert(new_indices.end(), indices + offsets[t * count_ + c], indices + offsets[t * count_ + c + 1]);
        new_offsets.push_back(static_cast<int64_t>(new_indices.size()));
      }
    }
    const int64_t total = static_cast<int64_t>(new_indices.size());
    out.inputs_.emplace(bags.indices, HostTensor::from(CAGR_DTYPE_I64, {total}, new_indices));
    out.inputs_.emplace(bags.offsets, HostTensor::from(CAGR_DTYPE_I64, {static_cast<int64_t>(new_offsets.size())}, new_offsets));
  }
  return out;
}

std::vector<HostTensor> Candidates::inputs_of(const Graph& graph) const {
  std::vector<HostTensor> ordered;
  for (int id : graph.inputs()) {
    const std::string& name = graph.tensor(id).name;
    const auto it = inputs_.find(name);
    if (it == inputs_.end()) throw std::invalid_argument("model input '" + name + "' is not among the candidates' inputs");
    ordered.push_back(it->second);
  }
  return ordered;
}

}  // namespace cagr
