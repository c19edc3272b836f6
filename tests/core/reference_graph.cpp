#include "reference_graph.hpp"

#include "node_desc.hpp"
#include "reference_ops.hpp"
#include "shape_inference.hpp"

namespace cagr::testing {

std::vector<HostTensor> run_reference(const Graph& graph, const std::vector<HostTensor>& inputs) {
  std::vector<Dims> dims;
  for (const auto& t : inputs) dims.push_back(t.dims);
  const std::vector<TensorShape> shapes = infer_shapes(graph, dims);
  std::vector<HostTensor> values(graph.num_tensors());
  for (size_t i = 0; i < inputs.size(); ++i) values[static_cast<size_t>(graph.inputs()[i])] = inputs[i];
  for (size_t t = 0; t < graph.num_tensors(); ++t) {
    const TensorInfo& info = graph.tensor(static_cast<int>(t));
    if (info.is_constant()) {
      values[t] = HostTensor(info.dtype, info.dims);
      values[t].data = *info.data;
    }
  }
  for (int n : graph.topological_order()) {
    const Node& node = graph.nodes()[static_cast<size_t>(n)];
    abi::OwnedOpDesc desc = describe_node(node, shapes);
    std::vector<const void*> in;
    std::vector<void*> out;
    for (int id : node.inputs) in.push_back(values[static_cast<size_t>(id)].data.data());
    for (int id : node.outputs) {
      values[static_cast<size_t>(id)] = HostTensor(shapes[static_cast<size_t>(id)].dtype, shapes[static_cast<size_t>(id)].dims);
      out.push_back(values[static_cast<size_t>(id)].data.data());
    }
    reference::run(desc.desc(), in.data(), out.data());
  }
  std::vector<HostTensor> outputs;
  for (int id : graph.outputs()) outputs.push_back(values[static_cast<size_t>(id)]);
  return outputs;
}

}  // namespace cagr::testing
