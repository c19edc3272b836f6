#include "npz.hpp"

#include <zip.h>

#include <algorithm>
#include <memory>
#include <string_view>
#include <vector>

namespace cagr::data {

namespace {

constexpr std::string_view kNpySuffix = ".npy";

struct ArchiveCloser {
  void operator()(zip_t* archive) const { zip_discard(archive); }
};
using Archive = std::unique_ptr<zip_t, ArchiveCloser>;

struct EntryCloser {
  void operator()(zip_file_t* file) const { zip_fclose(file); }
};

std::string error_text(int code) {
  zip_error_t error;
  zip_error_init_with_code(&error, code);
  std::string text = zip_error_strerror(&error);
  zip_error_fini(&error);
  return text;
}

Archive open_archive(const std::string& path, int flags) {
  int code = 0;
  zip_t* archive = zip_open(path.c_str(), flags, &code);
  if (!archive) throw DataError(path + ": cannot open as a zip archive: " + error_text(code));
  return Archive(archive);
}

std::vector<std::byte> read_entry(zip_t* archive, zip_uint64_t index, const std::string& what) {
  zip_stat_t stat;
  zip_stat_init(&stat);
  if (zip_stat_index(archive, index, 0, &stat) != 0 || !(stat.valid & ZIP_STAT_SIZE)) {
    throw DataError(what + ": cannot stat the entry: " + zip_strerror(archive));
  }
  std::unique_ptr<zip_file_t, EntryCloser> file(zip_fopen_index(archive, index, 0));
  if (!file) throw DataError(what + ": cannot open the entry: " + zip_strerror(archive));
  // Grown as the bytes come, not sized from the header's claim first: a damaged header claiming
  // gigabytes in a small file would otherwise allocate them (fuzz_npz: 4 GB from a 2 KB file).
  constexpr zip_uint64_t kPiece = zip_uint64_t{1} << 24;
  std::vector<std::byte> bytes;
  while (bytes.size() < stat.size) {
    const size_t done = bytes.size();
    bytes.resize(done + static_cast<size_t>(std::min<zip_uint64_t>(kPiece, stat.size - done)));
    const zip_int64_t got = zip_fread(file.get(), bytes.data() + done, bytes.size() - done);
    if (got <= 0) throw DataError(what + ": cannot read the entry: " + zip_file_strerror(file.get()));
    bytes.resize(done + static_cast<size_t>(got));
  }
  return bytes;
}

}  // namespace

std::map<std::string, NpyArray> read_npz(const std::string& path) {
  Archive archive = open_archive(path, ZIP_RDONLY);
  std::map<std::string, NpyArray> arrays;
  const zip_int64_t entries = zip_get_num_entries(archive.get(), 0);
  for (zip_int64_t i = 0; i < entries; ++i) {
    const char* raw_name = zip_get_name(archive.get(), static_cast<zip_uint64_t>(i), 0);
    if (!raw_name) throw DataError(path + ": cannot read entry " + std::to_string(i) + "'s name");
    const std::string entry_name = raw_name;
    if (!entry_name.ends_with(kNpySuffix)) throw DataError(path + ": entry '" + entry_name + "' is not a .npy array");
    const std::string name = entry_name.substr(0, entry_name.size() - kNpySuffix.size());
    const std::string what = path + ": array '" + name + "'";
    arrays[name] = decode_npy(read_entry(archive.get(), static_cast<zip_uint64_t>(i), what), what);
  }
  return arrays;
}

void write_npz(const std::string& path, const std::map<std::string, NpyArray>& arrays) {
  // libzip reads the entries' bytes only in zip_close, so they must live until then.
  std::vector<std::vector<std::byte>> encoded;
  encoded.reserve(arrays.size());
  for (const auto& [name, array] : arrays) {
    if (name.empty()) throw DataError(path + ": an array name is empty");
    try {
      encoded.push_back(encode_npy(array));
    } catch (const DataError& e) {
      throw DataError(path + ": array '" + name + "': " + e.what());
    }
  }

  Archive archive = open_archive(path, ZIP_CREATE | ZIP_TRUNCATE);
  size_t next = 0;
  for (const auto& [name, array] : arrays) {
    const std::vector<std::byte>& bytes = encoded[next++];
    zip_source_t* source = zip_source_buffer(archive.get(), bytes.data(), bytes.size(), 0);
    if (!source) throw DataError(path + ": array '" + name + "': " + zip_strerror(archive.get()));
    const zip_int64_t index =
        zip_file_add(archive.get(), (name + std::string(kNpySuffix)).c_str(), source, ZIP_FL_ENC_UTF_8);
    if (index < 0) {
      zip_source_free(source);
      throw DataError(path + ": array '" + name + "': " + zip_strerror(archive.get()));
    }
    if (zip_set_file_compression(archive.get(), static_cast<zip_uint64_t>(index), ZIP_CM_STORE, 0) != 0) {
      throw DataError(path + ": array '" + name + "': " + zip_strerror(archive.get()));
    }
  }
  if (zip_close(archive.get()) != 0) throw DataError(path + ": cannot write: " + zip_strerror(archive.get()));
  static_cast<void>(archive.release());  // zip_close freed it
}

}  // namespace cagr::data
