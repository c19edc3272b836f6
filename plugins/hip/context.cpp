#include "context.hpp"

#include <cstring>

#include "gpu_check.hpp"

namespace cagr::gpu {

std::string describe(const DeviceErrorRecord& r) {
  std::string op = "gather", where;
  switch (static_cast<ErrorOp>(r.op)) {
    case ErrorOp::gather: break;
    case ErrorOp::take: op = "take"; break;
    case ErrorOp::table_offsets:
      op = "table_offsets";
      where = " (table " + std::to_string(r.table) + ")";
      break;
    case ErrorOp::embedding_bag:  // the ops that look rows up name the table
    case ErrorOp::dlrm_embedding_interaction:
    default:
      op = r.op == static_cast<int>(ErrorOp::embedding_bag) ? "embedding_bag" : "dlrm_embedding_interaction";
      where = " (table " + std::to_string(r.table) + ")";
      break;
  }
  switch (static_cast<ErrorKind>(r.kind)) {
    case ErrorKind::index_out_of_range:
      if (r.op == static_cast<int>(ErrorOp::take))  // negative indices count from the end (OPS.md)
        return op + ": index out of range at position " + std::to_string(r.position) + " of indices: value " +
               std::to_string(r.value) + ", valid range [-" + std::to_string(r.limit) + ", " + std::to_string(r.limit) +
               ") for an axis of length " + std::to_string(r.limit);
      return op + ": index out of range at position " + std::to_string(r.position) + " of indices" + where +
             ": value " + std::to_string(r.value) + ", valid range [0, " + std::to_string(r.limit) + ")";
    case ErrorKind::offsets_decrease:
      return op + ": offsets decrease at position " + std::to_string(r.position) + ": value " +
             std::to_string(r.value) + " after " + std::to_string(r.limit);
    case ErrorKind::offset_out_of_range:
      return op + ": offset out of range at position " + std::to_string(r.position) + " of offsets" + where +
             ": value " + std::to_string(r.value) + ", valid range [0, " + std::to_string(r.limit) + "]";
    case ErrorKind::first_offset_not_zero:
      return op + ": offset " + std::to_string(r.value) + " at position " + std::to_string(r.position) + " of offsets" +
             where + " is the table's first, which must be 0";
  }
  return op + ": invalid input found on the device";
}

DeviceState::DeviceState(int ordinal) : ordinal_(ordinal), facts_(query_runtime_facts(ordinal)) {
  use_device(ordinal);
  void* host = nullptr;
  check(hipHostMalloc(&host, sizeof(DeviceErrorRecord), hipHostMallocMapped), "allocating the device error record");
  host_record_ = static_cast<DeviceErrorRecord*>(host);
  std::memset(host_record_, 0, sizeof(DeviceErrorRecord));
  void* device = nullptr;
  check(hipHostGetDevicePointer(&device, host, 0), "mapping the device error record");
  device_record_ = static_cast<DeviceErrorRecord*>(device);
}

DeviceState::~DeviceState() {
  if (host_record_ != nullptr) (void)hipHostFree(host_record_);
}

const MeasuredPeaks& DeviceState::peaks() {
  std::call_once(peaks_once_, [this] { peaks_ = measured_peaks(ordinal_, facts_); });
  return peaks_;
}

void DeviceState::raise_recorded_error() {
  volatile DeviceErrorRecord* record = host_record_;
  if (record->claimed == 0) return;
  DeviceErrorRecord copy;
  std::memcpy(&copy, const_cast<DeviceErrorRecord*>(host_record_), sizeof copy);
  std::memset(host_record_, 0, sizeof(DeviceErrorRecord));
  plugin::invalid(describe(copy));
}

}  // namespace cagr::gpu

cagr::gpu::DeviceState& cagr_context::device(int index) const {
  if (index < 0 || static_cast<size_t>(index) >= devices.size())
    cagr::plugin::invalid("device " + std::to_string(index) + " does not exist (" + std::to_string(devices.size()) +
                          " device(s)" + (devices.empty() ? ": " + no_device_reason : std::string()) + ")");
  return *devices[static_cast<size_t>(index)];
}
