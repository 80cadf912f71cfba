//===- Npy.cpp - Reading and writing numpy's .npy files -------------------===//
//
// Format: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
// The header is a Python dict literal; this file reads the subset that numpy
// writes (and hand-written variants of it) and rejects everything else.
//
//===----------------------------------------------------------------------===//

#include "Npy.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string_view>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace moec::rt;

namespace {
constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicSize = sizeof(kMagic) - 1;
// More dimensions than any real model has; it bounds the work on hostile input.
constexpr size_t kMaxRank = 64;

// Resolves a 'descr' string to a dtype, or says why not.
std::string dtypeFromDescr(std::string_view descr, DType &dtype) {
  for (int i = 0; i < kNumDTypes; ++i) {
    auto candidate = static_cast<DType>(i);
    std::string_view canonical = npyDescr(candidate);
    // A one-byte type has no byte order: numpy writes '|', '<' is equivalent.
    bool sameOneByteType = dtypeSize(candidate) == 1 && descr.size() == 3 && descr[0] == '<' &&
                           descr.substr(1) == canonical.substr(1);
    if (descr == canonical || sameOneByteType) {
      dtype = candidate;
      return "";
    }
  }
  if (!descr.empty() && descr[0] == '>')
    return "big-endian data ('" + std::string(descr) + "') is not supported";
  return "unsupported dtype '" + std::string(descr) + "'";
}

// A cursor over the header's dict literal.
class HeaderParser {
public:
  explicit HeaderParser(std::string_view text) : text(text) {}

  std::string parse(NpyArray &array) {
    bool haveDescr = false, haveOrder = false, haveShape = false;
    if (!consume('{'))
      return "the header is not a dict";
    while (!consume('}')) {
      std::string key;
      if (!parseString(key) || !consume(':'))
        return "the header is not a dict of 'key': value";
      if (key == "descr") {
        std::string descr;
        if (haveDescr || !parseString(descr))
          return "bad 'descr' in the header";
        if (std::string error = dtypeFromDescr(descr, array.dtype); !error.empty())
          return error;
        haveDescr = true;
      } else if (key == "fortran_order") {
        bool fortranOrder = false;
        if (haveOrder || !parseBool(fortranOrder))
          return "bad 'fortran_order' in the header";
        if (fortranOrder)
          return "Fortran-order arrays are not supported (save np.ascontiguousarray(a))";
        haveOrder = true;
      } else if (key == "shape") {
        if (haveShape || !parseShape(array.shape))
          return "bad 'shape' in the header";
        haveShape = true;
      } else {
        return "unknown key '" + key + "' in the header";
      }
      if (!consume(',') && !peek('}'))
        return "the header is not a dict of 'key': value";
    }
    if (!haveDescr || !haveOrder || !haveShape)
      return "the header lacks 'descr', 'fortran_order' or 'shape'";
    skipSpace();
    if (pos != text.size())
      return "unexpected text after the header's dict";
    return "";
  }

private:
  void skipSpace() {
    while (pos < text.size() &&
           (text[pos] == ' ' || text[pos] == '\n' || text[pos] == '\t' || text[pos] == '\r'))
      ++pos;
  }

  bool peek(char c) {
    skipSpace();
    return pos < text.size() && text[pos] == c;
  }

  bool consume(char c) {
    if (!peek(c))
      return false;
    ++pos;
    return true;
  }

  bool consumeWord(std::string_view word) {
    skipSpace();
    if (text.substr(pos, word.size()) != word)
      return false;
    pos += word.size();
    return true;
  }

  // A quoted string without escapes (no key or descr numpy writes has one).
  bool parseString(std::string &out) {
    skipSpace();
    if (pos >= text.size() || (text[pos] != '\'' && text[pos] != '"'))
      return false;
    char quote = text[pos++];
    size_t end = text.find(quote, pos);
    if (end == std::string_view::npos)
      return false;
    out.assign(text.substr(pos, end - pos));
    if (out.find('\\') != std::string::npos)
      return false;
    pos = end + 1;
    return true;
  }

  bool parseBool(bool &out) {
    if (consumeWord("True"))
      out = true;
    else if (consumeWord("False"))
      out = false;
    else
      return false;
    return true;
  }

  bool parseNonNegative(int64_t &out) {
    skipSpace();
    size_t start = pos;
    out = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      int digit = text[pos++] - '0';
      if (out > (std::numeric_limits<int64_t>::max() - digit) / 10)
        return false;
      out = out * 10 + digit;
    }
    // Python 2 wrote long integers with an L suffix.
    if (pos > start && pos < text.size() && text[pos] == 'L')
      ++pos;
    return pos > start;
  }

  // "()", "(5,)", "(2, 3)", "(2, 3,)".
  bool parseShape(std::vector<int64_t> &shape) {
    shape.clear();
    if (!consume('('))
      return false;
    while (!consume(')')) {
      int64_t dim;
      if (shape.size() == kMaxRank || !parseNonNegative(dim))
        return false;
      shape.push_back(dim);
      if (!consume(',') && !peek(')'))
        return false;
    }
    return true;
  }

  std::string_view text;
  size_t pos = 0;
};

uint32_t loadLittleEndian(const uint8_t *bytes, int numBytes) {
  uint32_t value = 0;
  for (int i = 0; i < numBytes; ++i)
    value |= uint32_t(bytes[i]) << (8 * i);
  return value;
}

// A dict literal with the entries numpy puts in every header.
std::string headerDict(DType dtype, const std::vector<int64_t> &shape) {
  std::string dict =
      "{'descr': '" + std::string(npyDescr(dtype)) + "', 'fortran_order': False, 'shape': (";
  for (int64_t dim : shape)
    dict += std::to_string(dim) + ", ";
  if (shape.size() > 1)
    dict.resize(dict.size() - 2);
  else if (shape.size() == 1)
    dict.pop_back(); // "(5,)": a one-element tuple keeps its comma.
  return dict + "), }";
}
} // namespace

int64_t moec::rt::numElements(const std::vector<int64_t> &shape) {
  int64_t count = 1;
  for (int64_t dim : shape) {
    if (dim < 0 || (dim != 0 && count > std::numeric_limits<int64_t>::max() / dim))
      return -1;
    count *= dim;
  }
  return count;
}

std::string moec::rt::parseNpy(const uint8_t *bytes, size_t size, NpyArray &array) {
  if (size < kMagicSize + 2 || std::memcmp(bytes, kMagic, kMagicSize) != 0)
    return "not an .npy file (bad magic)";
  uint8_t major = bytes[kMagicSize], minor = bytes[kMagicSize + 1];
  if (major < 1 || major > 3 || minor != 0)
    return "unsupported .npy format version " + std::to_string(major) + "." + std::to_string(minor);
  // Version 1.0 stores the header length in 2 bytes, later versions in 4.
  int lengthBytes = major == 1 ? 2 : 4;
  size_t headerStart = kMagicSize + 2 + lengthBytes;
  if (size < headerStart)
    return "truncated .npy header";
  size_t headerLength = loadLittleEndian(bytes + kMagicSize + 2, lengthBytes);
  if (headerLength > size - headerStart)
    return "truncated .npy header";

  std::string_view header(reinterpret_cast<const char *>(bytes + headerStart), headerLength);
  if (std::string error = HeaderParser(header).parse(array); !error.empty())
    return error;

  int64_t count = numElements(array.shape);
  size_t elementSize = dtypeSize(array.dtype);
  if (count < 0 || uint64_t(count) > std::numeric_limits<uint64_t>::max() / elementSize)
    return "the shape in the header is too large";
  uint64_t expected = uint64_t(count) * elementSize;
  size_t dataStart = headerStart + headerLength;
  size_t available = size - dataStart;
  if (available != expected)
    return "the data is " + std::to_string(available) + " bytes but the header says " +
           std::to_string(expected);
  array.data = bytes + dataStart;
  array.dataSize = expected;
  return "";
}

std::string moec::rt::makeNpyHeader(DType dtype, const std::vector<int64_t> &shape) {
  std::string dict = headerDict(dtype, shape);
  // The dict is padded with spaces and ends in '\n', so that the data starts
  // at a multiple of 64 bytes after the magic, version and length field.
  auto paddedLength = [&](size_t prefixSize) {
    size_t unpadded = prefixSize + dict.size() + 1;
    return dict.size() + 1 + (64 - unpadded % 64) % 64;
  };
  // Version 1.0 has a 2-byte length field; version 2.0 a 4-byte one.
  int lengthBytes = 2;
  size_t headerLength = paddedLength(kMagicSize + 2 + lengthBytes);
  if (headerLength > 0xFFFF) {
    lengthBytes = 4;
    headerLength = paddedLength(kMagicSize + 2 + lengthBytes);
  }
  std::string out(kMagic, kMagicSize);
  out += char(lengthBytes == 2 ? 1 : 2);
  out += char(0);
  for (int i = 0; i < lengthBytes; ++i)
    out += char((headerLength >> (8 * i)) & 0xFF);
  out += dict;
  out.append(headerLength - dict.size() - 1, ' ');
  out += '\n';
  return out;
}

std::string moec::rt::writeNpyFile(const std::string &path, DType dtype,
                                   const std::vector<int64_t> &shape, const void *data) {
  std::string header = makeNpyHeader(dtype, shape);
  size_t dataSize = size_t(numElements(shape)) * dtypeSize(dtype);
  FILE *file = std::fopen(path.c_str(), "wb");
  if (!file)
    return "cannot write '" + path + "': " + std::strerror(errno);
  bool ok = std::fwrite(header.data(), 1, header.size(), file) == header.size() &&
            (dataSize == 0 || std::fwrite(data, 1, dataSize, file) == dataSize);
  int savedErrno = errno;
  if (std::fclose(file) != 0 && ok) {
    ok = false;
    savedErrno = errno;
  }
  if (!ok) {
    // A partial file would pass for an output.
    std::remove(path.c_str());
    return "cannot write '" + path + "': " + std::strerror(savedErrno);
  }
  return "";
}

std::string moec::rt::readFile(const std::string &path, std::vector<uint8_t> &bytes) {
  // Opened without blocking (a FIFO would wait for a writer), then read only if it is a
  // regular file: /dev/zero or a FIFO would never end.
  int fd = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return "cannot read '" + path + "': " + std::strerror(errno);
  struct stat status;
  std::string notRegular;
  if (fstat(fd, &status) != 0)
    notRegular = std::strerror(errno);
  else if (S_ISDIR(status.st_mode))
    notRegular = std::strerror(EISDIR);
  else if (!S_ISREG(status.st_mode))
    notRegular = "not a regular file";
  if (!notRegular.empty()) {
    close(fd);
    return "cannot read '" + path + "': " + notRegular;
  }
  FILE *file = fdopen(fd, "rb");
  if (!file) {
    int savedErrno = errno;
    close(fd);
    return "cannot read '" + path + "': " + std::strerror(savedErrno);
  }
  bytes.clear();
  bytes.reserve(size_t(status.st_size));
  uint8_t buffer[1 << 16];
  size_t got;
  while ((got = std::fread(buffer, 1, sizeof(buffer), file)) > 0)
    bytes.insert(bytes.end(), buffer, buffer + got);
  bool failed = std::ferror(file);
  int savedErrno = errno;
  std::fclose(file);
  if (failed)
    return "cannot read '" + path + "': " + std::strerror(savedErrno);
  return "";
}
