//===- ExpertChoice.h - The node that chooses every token's experts -------===//
//
// The raising passes find the router from the experts the layer's rows are gathered or
// sorted by, `[T, k]`: a TopK's indices (RouterMatcher.h), or the Concat of SparseMixer's
// two ArgMaxes (SparseMixerMatcher.h).
//
//===----------------------------------------------------------------------===//

#ifndef MOEC_PASSES_RAISE_EXPERTCHOICE_H
#define MOEC_PASSES_RAISE_EXPERTCHOICE_H

#include "RouterMatcher.h"

namespace moec::raise {

/// The node whose result `ids` is, if it chooses experts: a TopK whose indices `ids` are,
/// or a Concat that could be SparseMixer's choice. Null otherwise.
onnx::NodeOp getExpertChoice(mlir::Value ids);

/// Matches the routing of `choice`, a node getExpertChoice returned.
mlir::FailureOr<Routing> matchRoutingOfChoice(onnx::NodeOp choice, Reason &reason);

} // namespace moec::raise

#endif // MOEC_PASSES_RAISE_EXPERTCHOICE_H
