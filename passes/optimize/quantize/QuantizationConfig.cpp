//===- QuantizationConfig.cpp - Per layer and per weight quantization -----===//

#include "QuantizationConfig.h"

#include "llvm/Support/JSON.h"

#include <algorithm>

using namespace moec;
using namespace llvm;

namespace {
/// Reads the "type", "group" and "scheme" of `object` (a JSON path `where`) over `scheme`;
/// `allowed` lists the other keys the object may have.
Error readScheme(const json::Object &object, StringRef where, ArrayRef<StringRef> allowed,
                 WeightScheme &scheme) {
  for (const auto &entry : object) {
    StringRef key = entry.first;
    if (key != "type" && key != "group" && key != "scheme" && !llvm::is_contained(allowed, key))
      return createStringError("%s: unknown key '%s'", where.str().c_str(), key.str().c_str());
  }
  if (const json::Value *type = object.get("type")) {
    std::optional<StringRef> name = type->getAsString();
    scheme.fp8 = name == "fp8";
    if (name == "int8" || name == "fp8")
      scheme.bits = 8;
    else if (name == "int4")
      scheme.bits = 4;
    else if (name == "none")
      scheme.bits = 0;
    else
      return createStringError("%s: 'type' must be 'int8', 'int4', 'fp8' or 'none'",
                               where.str().c_str());
  }
  if (const json::Value *group = object.get("group")) {
    std::optional<int64_t> rows = group->getAsInteger();
    if (!rows || *rows <= 0)
      return createStringError("%s: 'group' must be a positive number of rows",
                               where.str().c_str());
    scheme.groupSize = *rows;
  }
  if (const json::Value *value = object.get("scheme")) {
    std::optional<StringRef> name = value->getAsString();
    if (name != "symmetric" && name != "asymmetric")
      return createStringError("%s: 'scheme' must be 'symmetric' or 'asymmetric'",
                               where.str().c_str());
    scheme.asymmetric = name == "asymmetric";
  }
  return Error::success();
}

/// The object at `value`, or an error naming `where`.
Expected<const json::Object *> asObject(const json::Value &value, StringRef where) {
  if (const json::Object *object = value.getAsObject())
    return object;
  return createStringError("%s: expected an object", where.str().c_str());
}
} // namespace

Expected<QuantizationConfig> QuantizationConfig::parse(StringRef text, StringRef path,
                                                       WeightScheme defaults) {
  auto fail = [&](Error error) {
    return createStringError("%s: %s", path.str().c_str(), toString(std::move(error)).c_str());
  };
  Expected<json::Value> root = json::parse(text);
  if (!root)
    return fail(root.takeError());
  Expected<const json::Object *> top = asObject(*root, "the file");
  if (!top)
    return fail(top.takeError());
  if (Error error = readScheme(**top, "the file", {"layers"}, defaults))
    return fail(std::move(error));
  QuantizationConfig config(defaults);
  const json::Value *layers = (*top)->get("layers");
  if (!layers)
    return config;
  Expected<const json::Object *> layerObjects = asObject(*layers, "'layers'");
  if (!layerObjects)
    return fail(layerObjects.takeError());
  for (const auto &entry : **layerObjects) {
    std::string name = entry.first.str();
    std::string where = "layer '" + name + "'";
    Expected<const json::Object *> layer = asObject(entry.second, where);
    if (!layer)
      return fail(layer.takeError());
    WeightScheme scheme = defaults;
    if (Error error = readScheme(**layer, where, {"up_weight", "down_weight"}, scheme))
      return fail(std::move(error));
    LayerSchemes schemes{scheme, scheme};
    for (auto [key, weight] : {std::pair("up_weight", &schemes.up),
                               std::pair("down_weight", &schemes.down)}) {
      const json::Value *value = (*layer)->get(key);
      if (!value)
        continue;
      std::string weightWhere = where + " " + key;
      Expected<const json::Object *> object = asObject(*value, weightWhere);
      if (!object)
        return fail(object.takeError());
      if (Error error = readScheme(**object, weightWhere, {}, *weight))
        return fail(std::move(error));
    }
    config.layers[name] = schemes;
  }
  return config;
}

WeightScheme QuantizationConfig::get(StringRef layer, ExpertWeight weight) {
  auto found = layers.find(layer);
  if (found == layers.end())
    return defaults;
  found->second.used = true;
  return weight == ExpertWeight::Up ? found->second.up : found->second.down;
}

std::vector<std::string> QuantizationConfig::getUnusedLayers() const {
  std::vector<std::string> names;
  for (const auto &entry : layers)
    if (!entry.second.used)
      names.push_back(entry.first().str());
  llvm::sort(names);
  return names;
}
