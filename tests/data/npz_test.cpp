#include "npz.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <random>

namespace cagr::data {
namespace {

const std::string kFixtures = CAGR_DATA_FIXTURE_DIR;

std::string temp_path(const std::string& name) {
  return (std::filesystem::path(testing::TempDir()) / name).string();
}

template <class T>
std::vector<T> random_values(size_t n, std::mt19937& rng) {
  std::uniform_real_distribution<double> value(-100, 100);
  std::vector<T> values(n);
  for (T& v : values) v = static_cast<T>(value(rng));
  return values;
}

std::string error_of(const std::function<void()>& body) {
  try {
    body();
  } catch (const DataError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Npz, RoundTripsEveryDtypeAndRank) {
  std::mt19937 rng(11);
  std::map<std::string, NpyArray> arrays;
  arrays["scalar"] = NpyArray::from<double>({}, random_values<double>(1, rng));
  arrays["f4"] = NpyArray::from<float>({7, 3}, random_values<float>(21, rng));
  arrays["i4"] = NpyArray::from<int32_t>({2, 3, 5}, random_values<int32_t>(30, rng));
  arrays["i8"] = NpyArray::from<int64_t>({13}, random_values<int64_t>(13, rng));
  arrays["u1"] = NpyArray::from<uint8_t>({1, 1, 1, 4}, std::vector<uint8_t>{0, 1, 254, 255});
  arrays["i1"] = NpyArray::from<int8_t>({3}, random_values<int8_t>(3, rng));
  arrays["empty"] = NpyArray::from<float>({0, 4}, std::vector<float>{});
  // f16 has no C++ type here: raw bytes.
  arrays["f2"] = NpyArray{"<f2", {2}, {std::byte{0x00}, std::byte{0x3c}, std::byte{0x00}, std::byte{0xc0}}};
  // A header too long for format 1.0's 16-bit length field: written as format 2.0.
  arrays["long_header"] = NpyArray::from<uint8_t>(std::vector<int64_t>(5000, 1), std::vector<uint8_t>{9});

  const std::string path = temp_path("round_trip.npz");
  write_npz(path, arrays);
  const auto read = read_npz(path);
  ASSERT_EQ(read.size(), arrays.size());
  for (const auto& [name, array] : arrays) {
    ASSERT_TRUE(read.count(name)) << name;
    EXPECT_EQ(read.at(name).dtype, array.dtype) << name;
    EXPECT_EQ(read.at(name).shape, array.shape) << name;
    EXPECT_EQ(read.at(name).data, array.data) << name;
  }
}

TEST(Npz, ReadsFilesWrittenByNumpy) {
  const auto arrays = read_npz(kFixtures + "/numpy_arrays.npz");
  ASSERT_EQ(arrays.size(), 8u);

  const std::vector<float> f4 = arrays.at("f4").values<float>();
  EXPECT_EQ(arrays.at("f4").shape, (std::vector<int64_t>{2, 3}));
  for (size_t i = 0; i < 6; ++i) EXPECT_EQ(f4[i], static_cast<float>(i) * 0.5f - 1) << i;

  const std::vector<double> f8 = arrays.at("f8").values<double>();
  ASSERT_EQ(f8.size(), 4u);
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(f8[i], static_cast<double>(i) / 3) << i;

  // 0.25, 1.25, 2.25 in IEEE binary16.
  const NpyArray& f2 = arrays.at("f2");
  EXPECT_EQ(f2.dtype, "<f2");
  EXPECT_EQ(npy_cagr_dtype(f2.dtype), CAGR_DTYPE_F16);
  EXPECT_EQ(f2.data, (std::vector<std::byte>{std::byte{0x00}, std::byte{0x34}, std::byte{0x00}, std::byte{0x3d},
                                             std::byte{0x80}, std::byte{0x40}}));

  const std::vector<int32_t> i4 = arrays.at("i4").values<int32_t>();
  EXPECT_EQ(arrays.at("i4").shape, (std::vector<int64_t>{2, 2, 2}));
  for (int i = 0; i < 8; ++i) EXPECT_EQ(i4[i], i - 4);

  EXPECT_TRUE(arrays.at("i8").shape.empty());
  EXPECT_EQ(arrays.at("i8").values<int64_t>(), std::vector<int64_t>{-(int64_t{1} << 40)});
  EXPECT_EQ(arrays.at("u1").values<uint8_t>(), (std::vector<uint8_t>{250, 251, 252, 253, 254}));
  EXPECT_EQ(arrays.at("i1").values<int8_t>(), (std::vector<int8_t>{-3, -2, -1, 0, 1}));
  EXPECT_EQ(arrays.at("empty").shape, (std::vector<int64_t>{0, 5}));
  EXPECT_TRUE(arrays.at("empty").data.empty());
}

TEST(Npz, ReadsCompressedArchives) {
  const std::vector<int64_t> x = read_npz(kFixtures + "/numpy_compressed.npz").at("x").values<int64_t>();
  ASSERT_EQ(x.size(), 1000u);
  for (int64_t i = 0; i < 1000; ++i) EXPECT_EQ(x[i], i);
}

TEST(Npz, NumpyReadsWhatWeWrite) {
  if (std::system("python3 -c 'import numpy' 2>/dev/null") != 0) GTEST_SKIP() << "numpy is not importable";
  const std::string path = temp_path("for_numpy.npz");
  std::mt19937 rng(3);
  const std::vector<float> values = random_values<float>(15, rng);
  write_npz(path, {{"x", NpyArray::from<float>({3, 5}, values)}});
  std::string expected = "[";
  for (float v : values) expected += std::to_string(v) + ",";
  const std::string check = "python3 -c \"import numpy as np; a = np.load('" + path +
                            "')['x']; assert a.dtype == np.float32 and a.shape == (3, 5); "
                            "assert np.allclose(a.ravel(), " + expected + "])\"";
  EXPECT_EQ(std::system(check.c_str()), 0) << check;
}

TEST(Npz, ErrorsNameTheFileAndArray) {
  const std::string fortran = kFixtures + "/numpy_fortran.npz";
  EXPECT_EQ(error_of([&] { read_npz(fortran); }), fortran + ": array 'dense': fortran_order arrays are not supported");
  const std::string big = kFixtures + "/numpy_big_endian.npz";
  EXPECT_EQ(error_of([&] { read_npz(big); }),
            big + ": array 'x': dtype '>f4' is not supported (supported: <f4 <f8 <f2 <i4 <i8 |u1 |i1)");
  const std::string missing = temp_path("does_not_exist.npz");
  EXPECT_EQ(error_of([&] { read_npz(missing); }).rfind(missing + ": cannot open as a zip archive: ", 0), 0u);
  EXPECT_EQ(error_of([&] { write_npz(temp_path("bad.npz"), {{"x", NpyArray{"<f4", {3}, {}}}}); }),
            temp_path("bad.npz") + ": array 'x': encode_npy: 0 bytes of data for shape (3,) of '<f4'");
}

std::vector<std::byte> npy_bytes(const std::string& header, size_t data_bytes) {
  std::string text = std::string("\x93NUMPY\x01\x00", 8);
  text += static_cast<char>(header.size() & 0xff);
  text += static_cast<char>(header.size() >> 8);
  text += header + std::string(data_bytes, '\0');
  std::vector<std::byte> bytes(text.size());
  std::memcpy(bytes.data(), text.data(), text.size());
  return bytes;
}

TEST(Npy, MalformedHeadersAreReported) {
  EXPECT_EQ(error_of([] { decode_npy(std::vector<std::byte>(20), "a"); }), "a: not a .npy array (bad magic string)");
  EXPECT_EQ(error_of([] { decode_npy(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", 8), "a"); }),
            "a: shape (3,) of '<f4' needs 12 data bytes, the file has 8");
  EXPECT_EQ(error_of([] { decode_npy(npy_bytes("{'descr': '<f4', 'shape': (3,), }", 12), "a"); }),
            "a: .npy header lacks 'descr', 'fortran_order' or 'shape': {'descr': '<f4', 'shape': (3,), }");
  EXPECT_EQ(error_of([] { decode_npy(npy_bytes("{'descr': '<f4', 'fortran_order': Maybe}", 0), "a"); }),
            "a: bad .npy header (expected True or False): {'descr': '<f4', 'fortran_order': Maybe}");
  EXPECT_EQ(error_of([] {
              decode_npy(npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", 0),
                         "a");
            }),
            "a: shape (4294967296, 4294967296) is too large");
  auto truncated = npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", 0);
  truncated.resize(20);
  EXPECT_EQ(error_of([&] { decode_npy(truncated, "a"); }), "a: truncated .npy header");
}

TEST(Npy, DtypesMapBothWays) {
  for (cagr_dtype dtype : {CAGR_DTYPE_F32, CAGR_DTYPE_F16, CAGR_DTYPE_I32, CAGR_DTYPE_I64, CAGR_DTYPE_I8, CAGR_DTYPE_U8}) {
    ASSERT_NE(npy_descr_of_dtype(dtype), nullptr);
    EXPECT_EQ(npy_cagr_dtype(npy_descr_of_dtype(dtype)), dtype);
  }
  EXPECT_EQ(npy_descr_of_dtype(CAGR_DTYPE_BF16), nullptr);
  EXPECT_EQ(npy_cagr_dtype("<f8"), CAGR_DTYPE_INVALID);
  EXPECT_EQ(npy_descr_of_dtype(CAGR_DTYPE_INVALID), nullptr);
}

TEST(Npy, TypedAccessChecksTheDtype) {
  const NpyArray array = NpyArray::from<float>({2}, std::vector<float>{1, 2});
  EXPECT_EQ(error_of([&] { array.values<int32_t>(); }), "NpyArray: elements are '<f4', asked for '<i4'");
  EXPECT_EQ(error_of([] { NpyArray::from<float>({2, 2}, std::vector<float>{1, 2}); }),
            "NpyArray: shape holds 4 elements, given 2");
}

}  // namespace
}  // namespace cagr::data
