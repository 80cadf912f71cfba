//===- PrintIR.cpp - Print IR that holds large weights --------------------===//

#include "moec/Support/PrintIR.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Operation.h"
#include "mlir/IR/OperationSupport.h"

#include <vector>

using namespace mlir;

void moec::printIR(Operation *op, llvm::raw_ostream &os, const PrintIROptions &options) {
  OpPrintingFlags flags;
  if (options.printLocations)
    flags.enableDebugInfo();
  uint64_t limit = options.elideResourcesOver;
  if (limit == 0) {
    op->print(os, flags);
    return;
  }
  flags.elideLargeResourceString(limit);

  // The printer writes a blob as hex (two characters a byte) into a string and drops the
  // string when it is over the limit. So that it never touches a large blob, each one
  // that would be dropped is swapped, while printing, for a stand-in just over the limit.
  DialectResourceBlobManager &manager =
      DenseResourceElementsHandle::getManagerInterface(op->getContext()).getBlobManager();
  std::vector<std::string> largeKeys;
  manager.getBlobMap([&](const llvm::StringMap<DialectResourceBlobManager::BlobEntry> &map) {
    for (const auto &entry : map)
      if (const AsmResourceBlob *blob = entry.second.getBlob())
        if (2 * blob->getData().size() > limit)
          largeKeys.push_back(entry.getKey().str());
  });
  std::vector<char> standInData(limit / 2 + 1);
  std::vector<std::pair<DialectResourceBlobManager::BlobEntry *, AsmResourceBlob>> swapped;
  for (const std::string &key : largeKeys) {
    DialectResourceBlobManager::BlobEntry *entry = manager.lookup(key);
    swapped.emplace_back(entry, std::move(*entry->getBlob()));
    entry->setBlob(UnmanagedAsmResourceBlob::allocateWithAlign(standInData, 1));
  }
  op->print(os, flags);
  for (auto &[entry, blob] : swapped)
    entry->setBlob(std::move(blob));
}
