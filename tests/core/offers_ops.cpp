// offers_ops.cpp - a test plugin whose one device offers the op types of OFFERED_OPS (set by the
// build, comma-separated) for every description the op contract (OPS.md) accepts, and runs none of
// them. The fusion tests place graphs on it to see fuse_for_targets fire, or not, for a device that
// offers a fused op that no plugin built here offers; a fused node the contract refuses is not fused.
// Tensors in bf16 (an optional extension of OPS.md) are offered only where the build sets OFFERS_BF16.
#include <string>

#include "minimal_plugin.hpp"
#include "op_contract.hpp"

#ifndef OFFERED_OPS
#error "OFFERED_OPS must list the op types that the device offers"
#endif
#ifndef OFFERS_BF16
#define OFFERS_BF16 0
#endif

namespace {

bool offered(const std::string& op_type) {
  return (std::string(",") + OFFERED_OPS + ",").find("," + op_type + ",") != std::string::npos;
}

bool has_bf16_tensor(const cagr::plugin::OpView& op) {
  for (size_t i = 0; i < op.num_inputs(); ++i)
    if (op.input(i).dtype == CAGR_DTYPE_BF16) return true;
  for (size_t i = 0; i < op.num_outputs(); ++i)
    if (op.output(i).dtype == CAGR_DTYPE_BF16) return true;
  return false;
}

cagr_status op_query(cagr_context*, cagr_op_query_args* args) {
  return test_plugin::guarded([&] {
    cagr_op_query_args q = cagr::abi::read_struct(args);
    test_plugin::check_device(q.device);
    static thread_local std::string reason;  // q.reason must outlive this call
    const cagr::plugin::OpView op(q.op);
    reason = offered(op.type()) ? "" : op.type() + " is not offered (OFFERED_OPS: " OFFERED_OPS ")";
    if (reason.empty() && !OFFERS_BF16 && has_bf16_tensor(op)) reason = "bf16 tensors are not offered";
    if (reason.empty()) {
      try {
        cagr::contract::check(op);
      } catch (const cagr::plugin::Error& e) {
        reason = e.what();
      }
    }
    q.supported = reason.empty();
    q.reason = q.supported ? nullptr : reason.c_str();
    q.num_variants = q.supported ? 1 : 0;
    cagr::abi::write_struct(args, q);
  });
}

}  // namespace

extern "C" CAGR_PLUGIN_EXPORT cagr_status cagr_plugin_entry(cagr_plugin_entry_args* args) {
  return test_plugin::negotiate_changed(args, [](cagr_plugin_api& api) { api.op_query = op_query; });
}
