//===- WeightStack.cpp - Building moe.layer's rearranged weights ----------===//

#include "WeightStack.h"

#include "moec/Support/Memory.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"

#include <algorithm>
#include <cstring>

using namespace mlir;
using namespace moec;
using namespace moec::raise;

SourceColumns SourceColumns::ofMatrix(const ConstantBytes &constant, int64_t offset, int64_t rows,
                                      int64_t columns, bool transposed, int64_t first,
                                      int64_t step, std::optional<int64_t> count) {
  SourceColumns result;
  result.source = constant.bytes;
  result.columns = count ? *count : (columns - first + step - 1) / step;
  if (constant.splat)
    return result;
  int64_t rowStride = transposed ? 1 : columns;
  int64_t columnStride = transposed ? rows : 1;
  result.first = offset + first * columnStride;
  result.rowStride = rowStride;
  result.columnStride = columnStride * step;
  size_t elementBytes = constant.getElementBytes();
  result.expertBytes = constant.bytes.slice(offset * elementBytes, rows * columns * elementBytes);
  return result;
}

SourceColumns SourceColumns::zeros(int64_t count) {
  SourceColumns result;
  result.columns = count;
  return result;
}

/// Copies rows `[begin, end)` of `columns` into the band `band` (which starts at row
/// `begin`, `bandColumns` elements a row) from column `bandColumn` on. `ElementBytes` is
/// the element size when known at compile time (so that each copy is one load and store),
/// else 0 and `elementBytes` is.
template <size_t ElementBytes>
static void gatherRows(char *band, int64_t bandColumns, int64_t bandColumn,
                       const SourceColumns &columns, int64_t begin, int64_t end,
                       size_t elementBytes) {
  const size_t size = ElementBytes ? ElementBytes : elementBytes;
  auto target = [&](int64_t row, int64_t column) {
    return band + ((row - begin) * bandColumns + bandColumn + column) * size;
  };
  if (columns.source.empty()) {
    for (int64_t row = begin; row < end; ++row)
      std::memset(target(row, 0), 0, columns.columns * size);
    return;
  }
  const char *source = columns.source.data();
  if (columns.columnStride == 1) {
    for (int64_t row = begin; row < end; ++row)
      std::memcpy(target(row, 0), source + (columns.first + row * columns.rowStride) * size,
                  columns.columns * size);
    return;
  }
  // Transposing: square tiles keep both the rows read and the rows written in cache.
  constexpr int64_t kTile = 64;
  for (int64_t rowTile = begin; rowTile < end; rowTile += kTile)
    for (int64_t columnTile = 0; columnTile < columns.columns; columnTile += kTile)
      for (int64_t row = rowTile, rowEnd = std::min(end, rowTile + kTile); row < rowEnd; ++row)
        for (int64_t column = columnTile,
                     columnEnd = std::min(columns.columns, columnTile + kTile);
             column < columnEnd; ++column)
          std::memcpy(target(row, column),
                      source + (columns.first + row * columns.rowStride +
                                column * columns.columnStride) *
                                   size,
                      size);
}

/// Gathers rows `[begin, end)` of one expert's matrix, made of `columns`, into `band`.
static void gatherBand(char *band, ArrayRef<SourceColumns> columns, int64_t bandColumns,
                       int64_t begin, int64_t end, size_t elementBytes) {
  int64_t bandColumn = 0;
  for (const SourceColumns &part : columns) {
    switch (elementBytes) {
    case 1:
      gatherRows<1>(band, bandColumns, bandColumn, part, begin, end, elementBytes);
      break;
    case 2:
      gatherRows<2>(band, bandColumns, bandColumn, part, begin, end, elementBytes);
      break;
    case 4:
      gatherRows<4>(band, bandColumns, bandColumn, part, begin, end, elementBytes);
      break;
    case 8:
      gatherRows<8>(band, bandColumns, bandColumn, part, begin, end, elementBytes);
      break;
    default:
      gatherRows<0>(band, bandColumns, bandColumn, part, begin, end, elementBytes);
    }
    bandColumn += part.columns;
  }
}

int64_t moec::raise::countColumns(ArrayRef<SourceColumns> parts) {
  int64_t count = 0;
  for (const SourceColumns &part : parts)
    count += part.columns;
  return count;
}

/// The rows gathered at once into a temporary file: large enough for few writes, small
/// enough to stay a bounded working set.
static constexpr size_t kBandBytes = size_t(16) << 20;

FailureOr<Value>
moec::raise::createWeightStack(OpBuilder &builder, Location loc, RankedTensorType type,
                               StringRef name, int64_t experts, int64_t rows,
                               function_ref<ExpertColumns(int64_t expert)> columnsOf,
                               size_t fileBackedBytes) {
  // Integers narrower than a byte (i4) take a byte each, as DenseElementsAttr holds them.
  size_t elementBytes = llvm::divideCeil(type.getElementTypeBitWidth(), 8);
  int64_t columns = experts * rows == 0 ? 0 : type.getNumElements() / (experts * rows);
  size_t rowBytes = columns * elementBytes;
  size_t size = type.getNumElements() * elementBytes;

  // Gathers every expert, band by band; `writeBand` stores a band of `count` rows starting
  // at row `row` of the whole stack, gathered into `bandAt(row)`.
  auto gatherAll = [&](function_ref<char *(int64_t row)> bandAt, int64_t bandRows,
                       function_ref<LogicalResult(int64_t row, int64_t count)> writeBand) {
    for (int64_t expert = 0; expert < experts; ++expert) {
      ExpertColumns parts = columnsOf(expert);
      assert(countColumns(parts) == columns && "the expert's columns do not fill its rows");
      for (int64_t begin = 0; begin < rows; begin += bandRows) {
        int64_t end = std::min(rows, begin + bandRows);
        int64_t row = expert * rows + begin;
        gatherBand(bandAt(row), parts, columns, begin, end, elementBytes);
        if (failed(writeBand(row, end - begin)))
          return failure();
      }
      for (const SourceColumns &part : parts)
        releasePages(part.expertBytes);
    }
    return success();
  };

  std::optional<AsmResourceBlob> blob;
  if (size == 0 || size < fileBackedBytes) {
    blob = HeapAsmResourceBlob::allocate(size, elementBytes);
    char *data = blob->getMutableData().data();
    (void)gatherAll([&](int64_t row) { return data + row * rowBytes; }, rows,
                    [](int64_t, int64_t) { return success(); });
  } else {
    auto fail = [&](llvm::Error error) -> LogicalResult {
      return emitError(loc) << "cannot build weight '" << name
                            << "' in a temporary file (TMPDIR): "
                            << llvm::toString(std::move(error));
    };
    llvm::Expected<ScratchFile> file = ScratchFile::create(size);
    if (!file)
      return fail(file.takeError());
    int64_t bandRows = std::clamp<int64_t>(kBandBytes / std::max<size_t>(rowBytes, 1), 1, rows);
    std::vector<char> band(bandRows * rowBytes);
    if (failed(gatherAll([&](int64_t) { return band.data(); }, bandRows,
                         [&](int64_t row, int64_t count) -> LogicalResult {
                           if (llvm::Error error = file->write(
                                   row * rowBytes, ArrayRef(band.data(), count * rowBytes)))
                             return fail(std::move(error));
                           return success();
                         })))
      return failure();
    auto mapped = file->map();
    if (!mapped)
      return fail(mapped.takeError());
    // The blob's deleter owns the mapping: it lives as long as the blob.
    blob = UnmanagedAsmResourceBlob::allocateWithAlign(
        ArrayRef((*mapped)->const_data(), size), elementBytes,
        [keepMapped = *mapped](void *, size_t, size_t) {});
  }
  auto value = DenseResourceElementsAttr::get(type, name, std::move(*blob));
  return Value(onnx::ConstantOp::create(builder, loc, type, name, value));
}
