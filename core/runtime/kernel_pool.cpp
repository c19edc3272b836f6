// kernel_pool.cpp - a kernel is found by the text of everything it was made from but its variant.
#include "kernel_pool.hpp"

#include <sstream>

#include "math_precision.hpp"
#include "node_desc.hpp"

namespace cagr {
namespace {

std::string key_of(const KernelPool::Request& r) {
  std::ostringstream key;
  key << r.target->plugin.get() << '|' << r.target->device << '|' << op_signature(*r.op, false) << "|math="
      << abi::math_precision_name(abi::allowed_math_precision(*r.op)) << "|weights=";
  for (const void* w : r.weights) key << w << ',';
  key << "|hot=";
  for (size_t rows : r.hot_rows) key << rows << ',';
  return key.str();
}

}  // namespace

std::shared_ptr<Kernel> KernelPool::get(const Request& request, bool any_variant, int& variant, std::string& variant_name,
                                        const std::function<Kernel()>& make) {
  std::vector<Made>& made = kernels_[key_of(request)];
  std::erase_if(made, [](const Made& m) { return m.kernel.expired(); });
  const bool large = request.weight_bytes >= kLargeWeightBytes;
  for (const Made& m : made) {
    if (m.variant != variant && !(any_variant && large)) continue;
    variant = m.variant;
    variant_name = m.variant_name;
    ++shared_;
    return m.kernel.lock();
  }
  auto kernel = std::make_shared<Kernel>(make());
  made.push_back(Made{variant, variant_name, kernel});
  ++made_;
  return kernel;
}

}  // namespace cagr
