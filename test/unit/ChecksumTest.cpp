//===- ChecksumTest.cpp - moec_checksum64's defined values ----------------===//
//
// The expected values come from the Python reference in docs/runtime-abi.md.
//
//===----------------------------------------------------------------------===//

#include "moec-runtime/checksum.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

uint64_t checksum(const std::string &text) { return moec_checksum64(text.data(), text.size()); }

TEST(ChecksumTest, KnownValues) {
  EXPECT_EQ(moec_checksum64(nullptr, 0), 0xBBCBA99BC31E0857ull);
  EXPECT_EQ(checksum("a"), 0xA68AF86484041C45ull);
  EXPECT_EQ(checksum("abc"), 0x5D9F2568D8219775ull);
  EXPECT_EQ(checksum("abcdefgh"), 0x732AD9816A1FBCFCull);
  EXPECT_EQ(checksum("0123456789abcdefghijklmnopqrstuvwxyz"), 0xE51E13D480BB4D58ull);
  std::vector<unsigned char> bytes(256);
  for (int i = 0; i < 256; ++i)
    bytes[i] = static_cast<unsigned char>(i);
  EXPECT_EQ(moec_checksum64(bytes.data(), bytes.size()), 0xCF195E9FB0191E67ull);
}

TEST(ChecksumTest, TrailingZerosAndSingleBitsChangeIt) {
  EXPECT_NE(checksum("abc"), checksum(std::string("abc\0", 4)));
  std::string base(1000, 'x');
  uint64_t reference = checksum(base);
  for (size_t i = 0; i < base.size(); i += 37) {
    std::string flipped = base;
    flipped[i] ^= 1;
    EXPECT_NE(checksum(flipped), reference) << i;
  }
}

TEST(ChecksumTest, IndependentOfAlignment) {
  std::string padded = "?0123456789abcdefghijklmnopqrstuvwxyz";
  EXPECT_EQ(moec_checksum64(padded.data() + 1, padded.size() - 1),
            checksum("0123456789abcdefghijklmnopqrstuvwxyz"));
}

// The compiler checksums a weights file blob by blob: every split of the data into pieces
// gives the one-shot value.
TEST(ChecksumTest, PiecesGiveTheWholeChecksum) {
  std::string text = "0123456789abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
  uint64_t whole = checksum(text);
  for (size_t first = 0; first <= text.size(); ++first)
    for (size_t second = first; second <= text.size(); second += 3) {
      moec_checksum64_state state;
      moec_checksum64_init(&state);
      moec_checksum64_update(&state, text.data(), first);
      moec_checksum64_update(&state, text.data() + first, second - first);
      moec_checksum64_update(&state, text.data() + second, text.size() - second);
      EXPECT_EQ(moec_checksum64_final(&state), whole) << first << " " << second;
    }
}

// An empty piece without data (a weight of zero elements) mid-word changes nothing; its null
// pointer reached memcpy before, which UBSan reports (scripts/test-sanitized.sh).
TEST(ChecksumTest, EmptyNullPieceMidWord) {
  moec_checksum64_state state;
  moec_checksum64_init(&state);
  moec_checksum64_update(&state, "abc", 3);
  moec_checksum64_update(&state, nullptr, 0);
  moec_checksum64_update(&state, "defgh", 5);
  EXPECT_EQ(moec_checksum64_final(&state), checksum("abcdefgh"));
}

} // namespace
