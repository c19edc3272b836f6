#include "npy.hpp"

#include <bit>
#include <cctype>
#include <charconv>
#include <limits>
#include <optional>
#include <string_view>

namespace cagr::data {

// Array bytes are copied as they are, and every supported descr is little-endian.
static_assert(std::endian::native == std::endian::little, "cagr_data's .npy code assumes a little-endian host");

namespace {

constexpr std::string_view kMagic = "\x93NUMPY";
constexpr size_t kHeaderAlignment = 64;

struct DescrInfo {
  const char* descr;
  size_t size;
  cagr_dtype dtype;
};
constexpr DescrInfo kDescrs[] = {
    {"<f4", 4, CAGR_DTYPE_F32}, {"<f8", 8, CAGR_DTYPE_INVALID}, {"<f2", 2, CAGR_DTYPE_F16},
    {"<i4", 4, CAGR_DTYPE_I32}, {"<i8", 8, CAGR_DTYPE_I64},     {"|u1", 1, CAGR_DTYPE_U8},
    {"|i1", 1, CAGR_DTYPE_I8},
};

const DescrInfo* find_descr(const std::string& descr) {
  for (const DescrInfo& info : kDescrs) {
    if (descr == info.descr) return &info;
  }
  return nullptr;
}

// The header is a Python dict literal such as
//   {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
// This parser reads exactly the value kinds such a dict holds: strings, True/False, int tuples.
class HeaderParser {
 public:
  HeaderParser(std::string_view text, const std::string& what) : text_(text), what_(what) {}

  struct Header {
    std::optional<std::string> descr;
    std::optional<bool> fortran_order;
    std::optional<std::vector<int64_t>> shape;
  };

  Header parse() {
    Header header;
    expect('{');
    while (!accept('}')) {
      const std::string key = string_literal();
      expect(':');
      if (key == "descr") {
        header.descr = string_literal();
      } else if (key == "fortran_order") {
        header.fortran_order = boolean();
      } else if (key == "shape") {
        header.shape = int_tuple();
      } else {
        fail("unexpected header key '" + key + "'");
      }
      if (!accept(',')) {
        expect('}');
        break;
      }
    }
    return header;
  }

 private:
  [[noreturn]] void fail(const std::string& problem) const {
    throw DataError(what_ + ": bad .npy header (" + problem + "): " + std::string(text_));
  }

  void skip_space() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  bool accept(char c) {
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  void expect(char c) {
    if (!accept(c)) fail(std::string("expected '") + c + "'");
  }
  bool accept_word(std::string_view word) {
    skip_space();
    if (text_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  std::string string_literal() {
    skip_space();
    if (pos_ >= text_.size() || (text_[pos_] != '\'' && text_[pos_] != '"')) fail("expected a string");
    const char quote = text_[pos_++];
    const size_t end = text_.find(quote, pos_);
    if (end == std::string_view::npos) fail("unterminated string");
    std::string value(text_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return value;
  }

  bool boolean() {
    if (accept_word("True")) return true;
    if (accept_word("False")) return false;
    fail("expected True or False");
  }

  std::vector<int64_t> int_tuple() {
    std::vector<int64_t> values;
    expect('(');
    while (!accept(')')) {
      skip_space();
      int64_t value = 0;
      const auto [end, ec] = std::from_chars(text_.data() + pos_, text_.data() + text_.size(), value);
      if (ec != std::errc() || value < 0) fail("expected a non-negative dimension");
      pos_ = static_cast<size_t>(end - text_.data());
      values.push_back(value);
      if (!accept(',')) {
        expect(')');
        break;
      }
    }
    return values;
  }

  std::string_view text_;
  const std::string& what_;
  size_t pos_ = 0;
};

std::string shape_text(const std::vector<int64_t>& shape) {
  // Python's tuple spelling: (), (3,), (3, 4).
  std::string text = "(";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + (shape.size() == 1 ? ",)" : ")");
}

// The byte count of a shape read from a file, which may be absurd: refuse instead of overflowing.
std::optional<size_t> checked_byte_count(const std::vector<int64_t>& shape, size_t element_size) {
  size_t count = element_size;
  for (int64_t dim : shape) {
    const size_t d = static_cast<size_t>(dim);
    if (d != 0 && count > std::numeric_limits<size_t>::max() / d) return std::nullopt;
    count *= d;
  }
  return count;
}

}  // namespace

size_t npy_element_size(const std::string& descr) {
  const DescrInfo* info = find_descr(descr);
  return info ? info->size : 0;
}

cagr_dtype npy_cagr_dtype(const std::string& descr) {
  const DescrInfo* info = find_descr(descr);
  return info ? info->dtype : CAGR_DTYPE_INVALID;
}

const char* npy_descr_of_dtype(cagr_dtype dtype) {
  for (const DescrInfo& info : kDescrs) {
    if (info.dtype == dtype && dtype != CAGR_DTYPE_INVALID) return info.descr;
  }
  return nullptr;
}

int64_t NpyArray::element_count() const {
  int64_t count = 1;
  for (int64_t dim : shape) count *= dim;
  return count;
}

std::vector<std::byte> encode_npy(const NpyArray& array) {
  const size_t element_size = npy_element_size(array.dtype);
  if (element_size == 0) throw DataError("encode_npy: unsupported dtype '" + array.dtype + "'");
  for (int64_t dim : array.shape) {
    if (dim < 0) throw DataError("encode_npy: negative dimension in shape " + shape_text(array.shape));
  }
  if (array.data.size() != static_cast<size_t>(array.element_count()) * element_size) {
    throw DataError("encode_npy: " + std::to_string(array.data.size()) + " bytes of data for shape " +
                    shape_text(array.shape) + " of '" + array.dtype + "'");
  }
  std::string dict = "{'descr': '" + array.dtype + "', 'fortran_order': False, 'shape': " +
                     shape_text(array.shape) + ", }";
  // Pad with spaces and end with '\n' so that the data starts at a multiple of 64 bytes. Format 1.0
  // stores the header length in 2 bytes, 2.0 in 4.
  auto padded_header_len = [&dict](size_t preamble) {
    const size_t unpadded = preamble + dict.size() + 1;
    return dict.size() + 1 + (kHeaderAlignment - unpadded % kHeaderAlignment) % kHeaderAlignment;
  };
  const bool version1 = padded_header_len(kMagic.size() + 4) <= std::numeric_limits<uint16_t>::max();
  const size_t preamble = kMagic.size() + 2 + (version1 ? 2 : 4);
  const uint32_t header_len = static_cast<uint32_t>(padded_header_len(preamble));
  dict.append(header_len - 1 - dict.size(), ' ');
  dict += '\n';

  std::vector<std::byte> bytes;
  bytes.reserve(preamble + dict.size() + array.data.size());
  auto put = [&bytes](char c) { bytes.push_back(static_cast<std::byte>(c)); };
  for (char c : kMagic) put(c);
  put(static_cast<char>(version1 ? 1 : 2));
  put(0);
  for (size_t i = 0; i < (version1 ? 2u : 4u); ++i) put(static_cast<char>((header_len >> (8 * i)) & 0xff));
  for (char c : dict) put(c);
  bytes.insert(bytes.end(), array.data.begin(), array.data.end());
  return bytes;
}

NpyArray decode_npy(std::span<const std::byte> bytes, const std::string& what) {
  auto byte_at = [&bytes](size_t i) { return static_cast<uint8_t>(bytes[i]); };
  if (bytes.size() < kMagic.size() + 4 ||
      std::string_view(reinterpret_cast<const char*>(bytes.data()), kMagic.size()) != kMagic) {
    throw DataError(what + ": not a .npy array (bad magic string)");
  }
  const uint8_t major = byte_at(kMagic.size());
  if (major < 1 || major > 3) throw DataError(what + ": unsupported .npy format version " + std::to_string(major));
  const size_t len_bytes = major == 1 ? 2 : 4;
  const size_t preamble = kMagic.size() + 2 + len_bytes;
  if (bytes.size() < preamble) throw DataError(what + ": truncated .npy header");
  size_t header_len = 0;
  for (size_t i = 0; i < len_bytes; ++i) header_len |= size_t{byte_at(kMagic.size() + 2 + i)} << (8 * i);
  if (bytes.size() < preamble + header_len) throw DataError(what + ": truncated .npy header");

  const std::string_view text(reinterpret_cast<const char*>(bytes.data()) + preamble, header_len);
  const HeaderParser::Header header = HeaderParser(text, what).parse();
  if (!header.descr || !header.fortran_order || !header.shape) {
    throw DataError(what + ": .npy header lacks 'descr', 'fortran_order' or 'shape': " + std::string(text));
  }
  if (*header.fortran_order) throw DataError(what + ": fortran_order arrays are not supported");
  const size_t element_size = npy_element_size(*header.descr);
  if (element_size == 0) {
    throw DataError(what + ": dtype '" + *header.descr +
                    "' is not supported (supported: <f4 <f8 <f2 <i4 <i8 |u1 |i1)");
  }

  NpyArray array{*header.descr, *header.shape, {}};
  const size_t available = bytes.size() - preamble - header_len;
  const std::optional<size_t> needed = checked_byte_count(array.shape, element_size);
  if (!needed) throw DataError(what + ": shape " + shape_text(array.shape) + " is too large");
  if (available != *needed) {
    throw DataError(what + ": shape " + shape_text(array.shape) + " of '" + array.dtype + "' needs " +
                    std::to_string(*needed) + " data bytes, the file has " + std::to_string(available));
  }
  const auto data = bytes.subspan(preamble + header_len);
  array.data.assign(data.begin(), data.end());
  return array;
}

}  // namespace cagr::data
