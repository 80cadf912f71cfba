//===- WeightsFile.cpp - Weights in a file beside the program -------------===//
//
// A model whose weights are too large to embed keeps them in one file that the runtime maps
// at load (docs/runtime-abi.md, "Optional: weights in a file beside the program"). Here the
// constant globals of the LLVM-dialect module are written to that file, each at a 64-byte
// aligned offset, and every address taken of one becomes `moec_weights + offset`.
//
// The weights are usually the model's external data, mapped by the importer and read here
// for the first time. Each chunk's pages are handed back to the kernel once written, so that
// moec's resident memory stays far below the weights' size however large they are.
//
//===----------------------------------------------------------------------===//

#include "moec/Codegen/Emit/Emission.h"

#include "moec-runtime/checksum.h"

#include "moec/Support/Memory.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace {
/// A constant global whose data can live in the weights file.
struct Weight {
  LLVM::GlobalOp global;
  ElementsAttr value;
  ArrayRef<char> data;
};

/// The bytes of a constant global's tensor in memory, when its attribute holds exactly those
/// bytes: a dense resource, or non-splat dense elements (splats are cheap to embed) of a
/// type that takes whole bytes (MLIR packs i1 elements as bits, LLVM stores them as bytes).
std::optional<ArrayRef<char>> weightData(LLVM::GlobalOp global) {
  if (!global.getConstant())
    return std::nullopt;
  auto elements = dyn_cast_or_null<ElementsAttr>(global.getValueOrNull());
  if (!elements)
    return std::nullopt;
  Type elementType = elements.getElementType();
  // Index elements have no fixed width until LLVM lowering; they stay embedded.
  if (!elementType.isIntOrFloat() || elementType.getIntOrFloatBitWidth() % 8 != 0)
    return std::nullopt;
  ArrayRef<char> data;
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(elements)) {
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (!blob)
      return std::nullopt;
    data = blob->getData();
  } else if (auto dense = dyn_cast<DenseIntOrFPElementsAttr>(elements)) {
    if (dense.isSplat())
      return std::nullopt;
    data = dense.getRawData();
  } else {
    return std::nullopt;
  }
  uint64_t expected = uint64_t(elements.getNumElements()) * elementType.getIntOrFloatBitWidth() / 8;
  if (data.size() != expected)
    return std::nullopt;
  return data;
}

/// The globals whose data moves, in module order. A global whose address an initializer of
/// another global takes stays embedded: the weights' address is known only at run time.
SmallVector<Weight> collectWeights(ModuleOp module) {
  DenseSet<StringRef> addressedByGlobals;
  module.walk([&](LLVM::AddressOfOp addressOf) {
    if (addressOf->getParentOfType<LLVM::GlobalOp>())
      addressedByGlobals.insert(addressOf.getGlobalName());
  });
  SmallVector<Weight> weights;
  for (auto global : module.getOps<LLVM::GlobalOp>())
    if (std::optional<ArrayRef<char>> data = weightData(global))
      if (!addressedByGlobals.contains(global.getSymName()))
        weights.push_back({global, cast<ElementsAttr>(global.getValueOrNull()), *data});
  return weights;
}

constexpr uint64_t kWeightAlignment = 64;

constexpr size_t kChunkBytes = size_t(64) << 20;

/// Whether every byte of `chunk` is zero.
bool isAllZero(ArrayRef<char> chunk) {
  return llvm::all_of(chunk, [](char byte) { return byte == 0; });
}

/// Writes `data` to `file` and into `checksum` in one pass, a chunk at a time, releasing
/// each chunk's pages once done with them. Whole chunks of zeros are skipped over, leaving
/// a hole where the file system supports them (the file's bytes are the same), so that a
/// model compiled with placeholder weights takes no disk space for them. Returns whether
/// the data ended in such a hole (which, at the end of the file, does not extend it).
bool writeWeight(ArrayRef<char> data, llvm::raw_fd_ostream &file,
                 moec_checksum64_state &checksum) {
  bool endsInHole = false;
  for (size_t start = 0; start < data.size(); start += kChunkBytes) {
    ArrayRef<char> chunk = data.slice(start, std::min(kChunkBytes, data.size() - start));
    endsInHole = chunk.size() == kChunkBytes && file.supportsSeeking() && isAllZero(chunk);
    if (endsInHole)
      file.seek(file.tell() + chunk.size());
    else
      file.write(chunk.data(), chunk.size());
    moec_checksum64_update(&checksum, chunk.data(), chunk.size());
    moec::releasePages(chunk);
  }
  return endsInHole;
}

/// The manifest's name of a weight: the key of its resource (importers and passes name
/// those after the ONNX initializer or the constant they made), else its global's name.
std::string weightName(Weight &weight) {
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(weight.value))
    return resource.getRawHandle().getKey().str();
  return weight.global.getSymName().str();
}
} // namespace

uint64_t moec::getWeightsFileSize(ModuleOp module) {
  uint64_t size = 0;
  for (const Weight &weight : collectWeights(module))
    size = llvm::alignTo(size, kWeightAlignment) + weight.data.size();
  return size;
}

SmallVector<moec::WeightsFileEntry> moec::moveWeightsToFile(ModuleOp module, StringRef fileName,
                                                            llvm::raw_fd_ostream &file) {
  SmallVector<Weight> weights = collectWeights(module);
  SmallVector<WeightsFileEntry> entries;
  llvm::StringMap<uint64_t> offsets;
  moec_checksum64_state checksum;
  moec_checksum64_init(&checksum);
  uint64_t size = 0;
  bool endsInHole = false;
  static const char padding[kWeightAlignment] = {};
  for (Weight &weight : weights) {
    uint64_t offset = llvm::alignTo(size, kWeightAlignment);
    file.write(padding, offset - size);
    moec_checksum64_update(&checksum, padding, offset - size);
    endsInHole = writeWeight(weight.data, file, checksum);
    offsets[weight.global.getSymName()] = offset;
    size = offset + weight.data.size();
    auto type = cast<ShapedType>(weight.value.getType());
    std::string elementType;
    llvm::raw_string_ostream(elementType) << type.getElementType();
    entries.push_back({weightName(weight), offset, weight.data.size(), elementType,
                       SmallVector<int64_t>(type.getShape())});
  }
  // A file that ends in a hole still needs its last byte for its size.
  if (endsInHole) {
    file.seek(size - 1);
    file.write('\0');
  }

  OpBuilder builder = OpBuilder::atBlockEnd(module.getBody());
  Location loc = module.getLoc();
  MLIRContext *context = module.getContext();
  auto pointerType = LLVM::LLVMPointerType::get(context);
  auto i64Type = builder.getI64Type();
  std::string name = (fileName + Twine('\0')).str();
  LLVM::GlobalOp::create(builder, loc, LLVM::LLVMArrayType::get(builder.getI8Type(), name.size()),
                         /*isConstant=*/true, LLVM::Linkage::External, "moec_weights_file",
                         builder.getStringAttr(name));
  LLVM::GlobalOp::create(builder, loc, i64Type, /*isConstant=*/true, LLVM::Linkage::External,
                         "moec_weights_size", builder.getI64IntegerAttr(size));
  LLVM::GlobalOp::create(builder, loc, i64Type, /*isConstant=*/true, LLVM::Linkage::External,
                         "moec_weights_checksum",
                         builder.getI64IntegerAttr(moec_checksum64_final(&checksum)));
  // Set by the runtime once it has mapped and verified the file.
  auto base = LLVM::GlobalOp::create(builder, loc, pointerType, /*isConstant=*/false,
                                     LLVM::Linkage::External, "moec_weights",
                                     LLVM::ZeroAttr::get(context));

  module.walk([&](LLVM::AddressOfOp addressOf) {
    auto offset = offsets.find(addressOf.getGlobalName());
    if (offset == offsets.end())
      return;
    OpBuilder rewriter(addressOf);
    Location useLoc = addressOf.getLoc();
    auto baseAddress = LLVM::AddressOfOp::create(rewriter, useLoc, base);
    auto weightsPointer = LLVM::LoadOp::create(rewriter, useLoc, pointerType, baseAddress,
                                               /*alignment=*/8);
    // A 64-bit index: offsets reach past the 2 GiB of GEP's constant (i32) indices.
    Value index = LLVM::ConstantOp::create(rewriter, useLoc, i64Type,
                                           rewriter.getI64IntegerAttr(offset->second));
    auto pointer = LLVM::GEPOp::create(rewriter, useLoc, pointerType, rewriter.getI8Type(),
                                       weightsPointer, ArrayRef<LLVM::GEPArg>{index},
                                       LLVM::GEPNoWrapFlags::inbounds);
    addressOf.replaceAllUsesWith(pointer.getResult());
    addressOf.erase();
  });
  for (Weight &weight : weights)
    weight.global.erase();
  return entries;
}

void moec::writeWeightsManifest(StringRef fileName, uint64_t size,
                                ArrayRef<WeightsFileEntry> entries, llvm::raw_ostream &os) {
  llvm::json::OStream json(os, /*IndentSize=*/1);
  json.object([&] {
    json.attribute("file", fileName);
    json.attribute("size", int64_t(size));
    json.attributeArray("weights", [&] {
      for (const WeightsFileEntry &entry : entries)
        json.object([&] {
          json.attribute("name", entry.name);
          json.attribute("offset", int64_t(entry.offset));
          json.attribute("bytes", int64_t(entry.bytes));
          json.attribute("dtype", entry.elementType);
          json.attributeArray("shape", [&] {
            for (int64_t dim : entry.shape)
              json.value(dim);
          });
        });
    });
  });
  os << "\n";
}

uint64_t moec::getWeightsChecksum(ModuleOp module) {
  auto global = module.lookupSymbol<LLVM::GlobalOp>("moec_weights_checksum");
  return cast<IntegerAttr>(global.getValueOrNull()).getValue().getZExtValue();
}

void moec::declareShardedWeights(ModuleOp module, ArrayRef<uint64_t> checksums) {
  OpBuilder builder = OpBuilder::atBlockEnd(module.getBody());
  Location loc = module.getLoc();
  auto i64Type = builder.getI64Type();
  LLVM::GlobalOp::create(builder, loc, i64Type, /*isConstant=*/true, LLVM::Linkage::External,
                         "moec_shard_ranks", builder.getI64IntegerAttr(checksums.size()));
  SmallVector<int64_t> values(checksums.begin(), checksums.end());
  auto type = RankedTensorType::get({int64_t(values.size())}, i64Type);
  LLVM::GlobalOp::create(builder, loc, LLVM::LLVMArrayType::get(i64Type, values.size()),
                         /*isConstant=*/true, LLVM::Linkage::External,
                         "moec_shard_weights_checksums", DenseIntElementsAttr::get(type, values));
}
