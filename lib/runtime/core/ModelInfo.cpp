//===- ModelInfo.cpp - The compiled model's description -------------------===//

#include "ModelInfo.h"

#include <limits>
#include <set>

using namespace moec::rt;

namespace {
std::vector<std::string_view> split(std::string_view text, std::string_view separators) {
  std::vector<std::string_view> pieces;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find_first_of(separators, pos);
    if (end == std::string_view::npos)
      end = text.size();
    pieces.push_back(text.substr(pos, end - pos));
    pos = end + 1;
  }
  return pieces;
}

bool parseSize(std::string_view text, int64_t &size) {
  if (text.empty())
    return false;
  size = 0;
  for (char c : text) {
    if (c < '0' || c > '9' || size > (std::numeric_limits<int64_t>::max() - (c - '0')) / 10)
      return false;
    size = size * 10 + (c - '0');
  }
  return true;
}

std::string parseDims(std::string_view text, std::vector<Dim> &dims) {
  dims.clear();
  if (text == "-")
    return "";
  for (std::string_view piece : split(text, ",")) {
    Dim dim;
    if (piece.empty())
      return "empty dimension in '" + std::string(text) + "'";
    // All digits: a static size. Anything else is a dim_param name, which may
    // well start with a digit ("2*s0").
    if (piece.find_first_not_of("0123456789") == std::string_view::npos) {
      if (!parseSize(piece, dim.size))
        return "dimension '" + std::string(piece) + "' is too large";
    } else {
      dim.name = std::string(piece);
    }
    dims.push_back(std::move(dim));
  }
  return "";
}

std::string parseTensor(const std::vector<std::string_view> &fields, TensorSpec &spec) {
  if (fields.size() != 4)
    return "expected '" + std::string(fields[0]) + " <name> <dtype> <dims>'";
  spec.name = std::string(fields[1]);
  if (!dtypeFromName(fields[2], spec.dtype))
    return "unknown dtype '" + std::string(fields[2]) + "'";
  return parseDims(fields[3], spec.dims);
}

std::string parseRecord(std::string_view line, ModelInfo &info) {
  std::vector<std::string_view> fields;
  for (std::string_view field : split(line, " \t\r"))
    if (!field.empty())
      fields.push_back(field);
  if (fields.empty())
    return "";
  if (fields[0] == "target") {
    if (fields.size() != 2 || !info.target.empty())
      return "expected one 'target <name>'";
    info.target = std::string(fields[1]);
    return "";
  }
  if (fields[0] == "input" || fields[0] == "output") {
    auto &list = fields[0] == "input" ? info.inputs : info.outputs;
    list.emplace_back();
    return parseTensor(fields, list.back());
  }
  return "unknown record '" + std::string(fields[0]) + "'";
}
} // namespace

std::string moec::rt::shapeString(const std::vector<int64_t> &shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

std::string TensorSpec::shapeString() const {
  std::string text = "[";
  for (size_t i = 0; i < dims.size(); ++i)
    text += (i ? ", " : "") +
            (dims[i].size == Dim::kDynamic ? dims[i].name : std::to_string(dims[i].size));
  return text + "]";
}

std::string moec::rt::parseModelInfo(std::string_view text, ModelInfo &info) {
  info = ModelInfo();
  std::vector<std::string_view> lines = split(text, "\n");
  for (size_t i = 0; i < lines.size(); ++i)
    if (std::string error = parseRecord(lines[i], info); !error.empty())
      return "line " + std::to_string(i + 1) + ": " + error;
  if (info.target.empty())
    return "no 'target' record";
  for (const auto *list : {&info.inputs, &info.outputs}) {
    std::set<std::string> names;
    for (const TensorSpec &spec : *list)
      if (!names.insert(spec.name).second)
        return "the name '" + spec.name + "' is used twice";
  }
  return "";
}

std::string ShapeBinder::bind(const TensorSpec &spec, DType dtype,
                              const std::vector<int64_t> &shape) {
  std::string where = "input '" + spec.name + "': ";
  if (dtype != spec.dtype)
    return where + "dtype " + std::string(dtypeName(dtype)) + " does not match the model's " +
           std::string(dtypeName(spec.dtype));
  if (shape.size() != spec.dims.size())
    return where + "rank " + std::to_string(shape.size()) + " (shape " +
           moec::rt::shapeString(shape) + ") does not match the model's rank " +
           std::to_string(spec.dims.size()) + " " + spec.shapeString();
  for (size_t i = 0; i < shape.size(); ++i) {
    const Dim &dim = spec.dims[i];
    std::string atDim =
        where + "dimension " + std::to_string(i) + " is " + std::to_string(shape[i]);
    if (dim.size != Dim::kDynamic && dim.size != shape[i])
      return atDim + " but the model requires " + std::to_string(dim.size) + " " +
             spec.shapeString();
    if (!dim.isNamed())
      continue;
    auto [it, inserted] = bindings.try_emplace(dim.name, Binding{shape[i], spec.name});
    if (!inserted && it->second.size != shape[i])
      return atDim + " but '" + dim.name + "' is already " + std::to_string(it->second.size) +
             " (from input '" + it->second.input + "')";
  }
  return "";
}
