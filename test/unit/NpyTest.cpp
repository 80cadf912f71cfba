//===- NpyTest.cpp - The runtime's .npy reader and writer -----------------===//

#include "core/Npy.h"

#include <gtest/gtest.h>

#include <cstring>

using namespace moec::rt;

namespace {

std::vector<uint8_t> toBytes(const std::string &text) {
  return std::vector<uint8_t>(text.begin(), text.end());
}

// A whole file: magic, version, length field, `dict` padded to 64 bytes, data.
std::vector<uint8_t> npyFile(int major, const std::string &dict, size_t dataBytes) {
  int lengthBytes = major == 1 ? 2 : 4;
  size_t prefix = 8 + lengthBytes;
  size_t headerLength = dict.size() + 1 + (64 - (prefix + dict.size() + 1) % 64) % 64;
  std::string file = "\x93NUMPY";
  file += char(major);
  file += char(0);
  for (int i = 0; i < lengthBytes; ++i)
    file += char((headerLength >> (8 * i)) & 0xFF);
  file += dict + std::string(headerLength - dict.size() - 1, ' ') + "\n";
  for (size_t i = 0; i < dataBytes; ++i)
    file += char(i * 7);
  return toBytes(file);
}

std::string parseError(const std::vector<uint8_t> &bytes) {
  NpyArray array;
  return parseNpy(bytes.data(), bytes.size(), array);
}

std::string dictFor(const std::string &descr, const std::string &shape,
                    const std::string &order = "False") {
  return "{'descr': '" + descr + "', 'fortran_order': " + order + ", 'shape': " + shape + ", }";
}

TEST(NpyTest, EveryDTypeRoundTripsThroughTheWriter) {
  for (int d = 0; d < kNumDTypes; ++d) {
    auto dtype = static_cast<DType>(d);
    std::vector<int64_t> shape = {2, 3};
    std::vector<uint8_t> data(6 * dtypeSize(dtype));
    for (size_t i = 0; i < data.size(); ++i)
      data[i] = uint8_t(i * 13 + d);
    std::vector<uint8_t> file = toBytes(makeNpyHeader(dtype, shape));
    EXPECT_EQ(file.size() % 64, 0u);
    file.insert(file.end(), data.begin(), data.end());

    NpyArray array;
    ASSERT_EQ(parseNpy(file.data(), file.size(), array), "") << dtypeName(dtype);
    EXPECT_EQ(array.dtype, dtype);
    EXPECT_EQ(array.shape, shape);
    ASSERT_EQ(array.dataSize, data.size());
    EXPECT_EQ(std::memcmp(array.data, data.data(), data.size()), 0);
  }
}

TEST(NpyTest, ScalarsVectorsAndEmptyArrays) {
  for (std::vector<int64_t> shape :
       {std::vector<int64_t>{}, {5}, {0}, {3, 0, 2}, {1, 1, 1, 1, 1, 1, 1, 1}}) {
    std::vector<uint8_t> file = toBytes(makeNpyHeader(DType::Int64, shape));
    int64_t count = numElements(shape);
    file.resize(file.size() + 8 * count);
    NpyArray array;
    ASSERT_EQ(parseNpy(file.data(), file.size(), array), "");
    EXPECT_EQ(array.shape, shape);
    EXPECT_EQ(array.dataSize, size_t(8 * count));
  }
}

TEST(NpyTest, EveryHeaderVersionParses) {
  for (int major : {1, 2, 3}) {
    std::vector<uint8_t> file = npyFile(major, dictFor("<f4", "(2, 2)"), 16);
    NpyArray array;
    ASSERT_EQ(parseNpy(file.data(), file.size(), array), "") << major;
    EXPECT_EQ(array.shape, (std::vector<int64_t>{2, 2}));
  }
}

TEST(NpyTest, HeaderVariantsNumpyAndOthersWrite) {
  for (const std::string &dict :
       {std::string("{'descr': '<i4', 'fortran_order': False, 'shape': (4,)}"),
        std::string("{\"shape\": (4,), \"descr\": \"<i4\", \"fortran_order\": False}"),
        std::string("{'descr':'<i4','fortran_order':False,'shape':(4L,)}"),
        std::string("{'descr': '<i4', 'fortran_order': False, 'shape': (4, ), }")}) {
    std::vector<uint8_t> file = npyFile(1, dict, 16);
    EXPECT_EQ(parseError(file), "") << dict;
  }
  EXPECT_EQ(parseError(npyFile(1, dictFor("<i1", "(4,)"), 4)), "");
  EXPECT_EQ(parseError(npyFile(1, dictFor("<b1", "(4,)"), 4)), "");
}

TEST(NpyTest, HeadersTooLongForVersion1UseVersion2) {
  EXPECT_EQ(makeNpyHeader(DType::Float32, std::vector<int64_t>(40, 1))[6], 1);
  std::string header = makeNpyHeader(DType::Float32, std::vector<int64_t>(30000, 1));
  EXPECT_EQ(header[6], 2);
  EXPECT_EQ(header.size() % 64, 0u);
  uint32_t length = 0;
  for (int i = 0; i < 4; ++i)
    length |= uint32_t(uint8_t(header[8 + i])) << (8 * i);
  EXPECT_EQ(length + 12, header.size());
  EXPECT_EQ(header.back(), '\n');
}

struct MalformedCase {
  const char *what;
  std::vector<uint8_t> bytes;
  const char *error;
};

TEST(NpyTest, MalformedFilesSayWhatIsWrong) {
  std::vector<uint8_t> good = npyFile(1, dictFor("<f4", "(2, 3)"), 24);
  std::vector<uint8_t> truncatedHeader(good.begin(), good.begin() + 30);
  std::vector<uint8_t> shortData(good.begin(), good.end() - 1);
  std::vector<uint8_t> longData = good;
  longData.push_back(0);
  std::vector<uint8_t> badVersion = good;
  badVersion[6] = 4;
  std::vector<uint8_t> badMinor = good;
  badMinor[7] = 1;
  std::vector<uint8_t> hugeLength = good;
  hugeLength[8] = hugeLength[9] = char(0xFF);
  std::vector<MalformedCase> cases = {
      {"empty", {}, "bad magic"},
      {"magic only", toBytes("\x93NUMPY"), "bad magic"},
      {"wrong magic", toBytes("\x93NUMPX\x01\x00\x10\x00"), "bad magic"},
      {"no length", toBytes(std::string("\x93NUMPY\x01\x00", 8)), "truncated .npy header"},
      {"truncated header", truncatedHeader, "truncated .npy header"},
      {"length past the end", hugeLength, "truncated .npy header"},
      {"version 4", badVersion, "unsupported .npy format version 4.0"},
      {"version 1.1", badMinor, "unsupported .npy format version 1.1"},
      {"short data", shortData, "the data is 23 bytes but the header says 24"},
      {"long data", longData, "the data is 25 bytes but the header says 24"},
      {"fortran order", npyFile(1, dictFor("<f4", "(2, 3)", "True"), 24), "Fortran-order"},
      {"big endian", npyFile(1, dictFor(">f4", "(2,)"), 8), "big-endian data ('>f4')"},
      {"complex", npyFile(1, dictFor("<c8", "(2,)"), 16), "unsupported dtype '<c8'"},
      {"object", npyFile(1, dictFor("|O", "(2,)"), 16), "unsupported dtype '|O'"},
      {"not a dict", npyFile(1, "[1, 2]", 0), "the header is not a dict"},
      {"no colon", npyFile(1, "{'descr' '<f4'}", 0), "not a dict of 'key': value"},
      {"unknown key", npyFile(1, "{'descr': '<f4', 'x': 1}", 0), "unknown key 'x'"},
      {"missing shape", npyFile(1, "{'descr': '<f4', 'fortran_order': False}", 0), "lacks"},
      {"duplicate key", npyFile(1, "{'descr': '<f4', 'descr': '<f4'}", 0), "bad 'descr'"},
      {"negative dim", npyFile(1, dictFor("<f4", "(-2,)"), 0), "bad 'shape'"},
      {"shape not a tuple", npyFile(1, dictFor("<f4", "[2]"), 8), "bad 'shape'"},
      {"unterminated shape", npyFile(1, "{'shape': (2, 3", 0), "bad 'shape'"},
      {"dim overflows", npyFile(1, dictFor("<f4", "(99999999999999999999,)"), 0), "bad 'shape'"},
      {"size overflows", npyFile(1, dictFor("<f8", "(4611686018427387904, 4)"), 0), "too large"},
      {"bad order", npyFile(1, dictFor("<f4", "(2,)", "0"), 8), "bad 'fortran_order'"},
      {"unterminated string", npyFile(1, "{'descr: 1}", 0), "not a dict of 'key': value"},
      {"escape in string", npyFile(1, dictFor("<f\\4", "(2,)"), 8), "bad 'descr'"},
      {"trailing text", npyFile(1, dictFor("<f4", "(2,)") + " x", 8), "after the header"},
  };
  for (const MalformedCase &c : cases) {
    std::string error = parseError(c.bytes);
    EXPECT_NE(error.find(c.error), std::string::npos)
        << c.what << ": got '" << error << "', wanted '" << c.error << "'";
  }
}

TEST(NpyTest, TooManyDimensionsAreRejected) {
  std::string shape = "(";
  for (int i = 0; i < 65; ++i)
    shape += "1, ";
  shape += ")";
  EXPECT_NE(parseError(npyFile(1, dictFor("<f4", shape), 4)).find("bad 'shape'"),
            std::string::npos);
}

TEST(NpyTest, EveryPrefixOfAGoodFileFailsCleanly) {
  std::vector<uint8_t> good = npyFile(2, dictFor("<u2", "(3, 1)"), 6);
  for (size_t size = 0; size < good.size(); ++size)
    EXPECT_NE(parseError(std::vector<uint8_t>(good.begin(), good.begin() + size)), "") << size;
}

TEST(NpyTest, WriteThenReadAFile) {
  std::string path = ::testing::TempDir() + "/moec-npy-test.npy";
  std::vector<int32_t> values = {1, -2, 3, -4, 5, -6};
  ASSERT_EQ(writeNpyFile(path, DType::Int32, {3, 2}, values.data()), "");
  std::vector<uint8_t> bytes;
  ASSERT_EQ(readFile(path, bytes), "");
  NpyArray array;
  ASSERT_EQ(parseNpy(bytes.data(), bytes.size(), array), "");
  EXPECT_EQ(array.dtype, DType::Int32);
  EXPECT_EQ(std::memcmp(array.data, values.data(), 24), 0);
  EXPECT_NE(readFile(path + ".missing", bytes).find("cannot read"), std::string::npos);
  EXPECT_NE(writeNpyFile("/nonexistent-dir/x.npy", DType::Int32, {1}, values.data()), "");
}

} // namespace
