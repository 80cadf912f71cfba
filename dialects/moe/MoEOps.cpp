//===- MoEOps.cpp - Verifiers, folders and canonicalizations of moe ops ---===//

#include "moec/Dialect/MoE/MoE.h"

using namespace mlir;
using namespace moec::moe;

#define GET_OP_CLASSES
#include "dialects/moe/MoEOps.cpp.inc"
