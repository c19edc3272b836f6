// A plugin that offers every op at a tiny cost (so that a planner places everything on it), makes
// kernels of any op, and misbehaves the way MISBEHAVIOUR says: SIGSEGV in kernel_run, SIGSEGV in
// op_query, or a hang in kernel_run. One source, three plugins, for the isolation tests
// (tests/core/isolated_plugins_test.cpp).
#include <signal.h>
#include <unistd.h>

#include "minimal_plugin.hpp"

namespace {

cagr_status op_query(cagr_context*, cagr_op_query_args* args) {
#if MISBEHAVIOUR_SEGV_IN_QUERY
  raise(SIGSEGV);
#endif
  return test_plugin::guarded([&] {
    cagr_op_query_args q = cagr::abi::read_struct(args);
    test_plugin::check_device(q.device);
    q.supported = 1;
    q.num_variants = 1;
    cagr::abi::write_struct(args, q);
  });
}

cagr_status op_variant(cagr_context*, cagr_variant_args* args) {
  return test_plugin::guarded([&] {
    cagr_variant_args v = cagr::abi::read_struct(args);
    test_plugin::check_device(v.device);
    v.name = "misbehaving";
    v.flops = 1;
    v.bytes = 1;
    v.estimated_ns = 1e-3;
    cagr::abi::write_struct(args, v);
  });
}

cagr_status kernel_create(cagr_context*, cagr_kernel_create_args* args) {
  return test_plugin::guarded([&] {
    cagr_kernel_create_args k = cagr::abi::read_struct(args);
    test_plugin::check_device(k.device);
    k.kernel = reinterpret_cast<cagr_kernel*>(new test_plugin::Kernel());
    cagr::abi::write_struct(args, k);
  });
}

cagr_status kernel_run(cagr_context*, cagr_kernel_run_args*) {
#if MISBEHAVIOUR_SEGV_IN_RUN
  raise(SIGSEGV);
#elif MISBEHAVIOUR_HANG_IN_RUN
  for (;;) pause();
#endif
  return CAGR_OK;
}

}  // namespace

extern "C" CAGR_PLUGIN_EXPORT cagr_status cagr_plugin_entry(cagr_plugin_entry_args* args) {
  return test_plugin::negotiate_changed(args, [](cagr_plugin_api& a) {
    a.op_query = op_query;
    a.op_variant = op_variant;
    a.kernel_create = kernel_create;
    a.kernel_run = kernel_run;
  });
}
