// id_profile.hpp - cagr-run's id-frequency profile of a model's embedding_bags: --profile-ids
// counts how often each id of each table is looked up over the run's batches and writes it;
// --hot-ids reads such a file into the graph's nodes (Node::hot_rows), whose plugin may then keep
// the hottest rows in its device cache for good (docs/EMBEDDING_CACHE.md, the static part).
//
// The file is text: a comment line, then one line per looked-up id, "<node> <table> <id> <count>",
// each table's ids most frequent first.
#pragma once

#include <string>
#include <vector>

#include "graph.hpp"
#include "host_tensor.hpp"

namespace cagr::run {

// Counts the ids of every embedding_bag whose indices and offsets are graph inputs over `batches`
// (each in graph input order) and writes them to `path`. Returns a line per embedding_bag left out
// (its ids are computed inside the graph), saying so.
std::vector<std::string> write_id_profile(const Graph& graph, const std::vector<std::vector<HostTensor>>& batches,
                                          const std::string& path);

// Sets the hot rows of each embedding_bag the profile at `path` names (every id it lists, most
// frequent first: the plugin keeps as many as its cache's static part holds). Throws naming the file
// and line for a malformed line, a node the graph does not have or that is not an embedding_bag,
// or a table it does not have.
void read_hot_rows(Graph& graph, const std::string& path);

}  // namespace cagr::run
