//===- Einsum.cpp - Einsum as one linalg.generic ---------------------------===//
//
// Every distinct label of the equation is a loop (the ellipsis dimensions first, right-
// aligned across operands as numpy broadcasts them); a label the output lacks is a
// reduction. A label repeated within an operand maps two of its dimensions to one loop,
// which reads a diagonal.
//
//===----------------------------------------------------------------------===//

#include "ReductionBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/AffineMap.h"

using namespace mlir;
using namespace moec;
using namespace moec::legalize;

namespace {

/// One term of the equation: its labels, with '.' standing for the whole ellipsis.
struct Term {
  SmallVector<char> labels;
  bool hasEllipsis = false;
};

FailureOr<Term> parseTerm(StringRef text) {
  Term term;
  while (!text.empty()) {
    if (text.consume_front("...")) {
      if (term.hasEllipsis)
        return failure();
      term.hasEllipsis = true;
      term.labels.push_back('.');
    } else if (llvm::isAlpha(text.front())) {
      term.labels.push_back(text.front());
      text = text.drop_front();
    } else {
      return failure();
    }
  }
  return term;
}

struct LegalizeEinsum : NodePattern {
  LegalizeEinsum(const TypeConverter &converter, MLIRContext *context)
      : NodePattern("Einsum", converter, context) {}

  LogicalResult rewrite(const Node &node, ValueRange inputs,
                        ConversionPatternRewriter &rewriter) const override {
    Location loc = node->getLoc();
    MLIRContext *context = rewriter.getContext();
    std::string equation;
    for (char c : node->getStringAttr("equation", ""))
      if (!llvm::isSpace(c))
        equation.push_back(c);
    auto [lhs, rhs] = StringRef(equation).split("->");
    bool explicitOutput = StringRef(equation).contains("->");

    SmallVector<StringRef> termTexts;
    lhs.split(termTexts, ',');
    if (termTexts.size() != inputs.size())
      return node.fail("equation '" + equation + "' has " + Twine(termTexts.size()) +
                       " input terms for " + Twine(inputs.size()) + " inputs");
    SmallVector<Term> terms;
    SmallVector<RankedTensorType> types;
    int64_t ellipsisRank = 0;
    for (auto [text, input] : llvm::zip(termTexts, inputs)) {
      FailureOr<Term> term = parseTerm(text);
      auto type = llvm::dyn_cast<RankedTensorType>(input.getType());
      if (failed(term) || !type)
        return node.fail("cannot parse equation '" + equation + "'");
      int64_t letters = term->labels.size() - term->hasEllipsis;
      if (letters > type.getRank() || (!term->hasEllipsis && letters != type.getRank()))
        return node.fail("term '" + text + "' does not match an input of rank " +
                         Twine(type.getRank()));
      ellipsisRank = std::max(ellipsisRank, type.getRank() - letters);
      terms.push_back(*term);
      types.push_back(type);
    }

    // Loops: the ellipsis dimensions, then the letters in order of appearance.
    llvm::MapVector<char, int64_t> letterLoops;
    llvm::DenseMap<char, int> occurrences;
    for (const Term &term : terms)
      for (char label : term.labels)
        if (label != '.') {
          letterLoops.insert({label, ellipsisRank + letterLoops.size()});
          ++occurrences[label];
        }
    Term output;
    if (explicitOutput) {
      FailureOr<Term> parsed = parseTerm(rhs);
      if (failed(parsed))
        return node.fail("cannot parse equation '" + equation + "'");
      output = *parsed;
    } else {
      // numpy's implicit output: the ellipsis, then the letters used once, sorted.
      if (ellipsisRank > 0)
        output.labels.push_back('.');
      for (auto [label, loop] : letterLoops)
        if (occurrences[label] == 1)
          output.labels.push_back(label);
      llvm::sort(std::next(output.labels.begin(), ellipsisRank > 0), output.labels.end());
    }
    int64_t numLoops = ellipsisRank + letterLoops.size();

    auto mapOf = [&](const Term &term, int64_t rank) -> FailureOr<SmallVector<AffineExpr>> {
      SmallVector<AffineExpr> exprs;
      int64_t termEllipsisRank = rank - (term.labels.size() - term.hasEllipsis);
      for (char label : term.labels) {
        if (label == '.') {
          for (int64_t i = 0; i < termEllipsisRank; ++i)
            exprs.push_back(getAffineDimExpr(ellipsisRank - termEllipsisRank + i, context));
          continue;
        }
        auto loop = letterLoops.find(label);
        if (loop == letterLoops.end())
          return failure();
        exprs.push_back(getAffineDimExpr(loop->second, context));
      }
      return exprs;
    };

    RankedTensorType resultType = node.getResultType(0);
    SmallVector<AffineMap> maps;
    // Loop sizes, to tell a broadcast size-1 ellipsis dimension from a real one.
    SmallVector<int64_t> loopSizes(numLoops, 1);
    SmallVector<std::pair<Value, int64_t>> loopSources(numLoops, {Value(), 0});
    SmallVector<SmallVector<AffineExpr>> operandExprs;
    for (auto [term, type, input] : llvm::zip(terms, types, inputs)) {
      FailureOr<SmallVector<AffineExpr>> exprs = mapOf(term, type.getRank());
      if (failed(exprs))
        return node.fail("cannot parse equation '" + equation + "'");
      for (auto [dim, expr] : llvm::enumerate(*exprs)) {
        int64_t loop = llvm::cast<AffineDimExpr>(expr).getPosition();
        int64_t size = type.getDimSize(dim);
        if (size != 1 && (loopSizes[loop] == 1 || ShapedType::isDynamic(loopSizes[loop])))
          loopSizes[loop] = size;
        if (size != 1 && !loopSources[loop].first)
          loopSources[loop] = {input, int64_t(dim)};
      }
      operandExprs.push_back(*exprs);
    }
    for (auto [exprs, type] : llvm::zip(operandExprs, types)) {
      for (auto [dim, expr] : llvm::enumerate(exprs)) {
        int64_t loop = llvm::cast<AffineDimExpr>(expr).getPosition();
        if (loop < ellipsisRank && type.getDimSize(dim) == 1 && loopSizes[loop] != 1)
          expr = getAffineConstantExpr(0, context);
      }
      maps.push_back(AffineMap::get(numLoops, 0, exprs, context));
    }
    FailureOr<SmallVector<AffineExpr>> outputExprs =
        mapOf(output, ellipsisRank + output.labels.size() - output.hasEllipsis);
    if (failed(outputExprs))
      return node.fail("the output of equation '" + equation + "' has a label no input has");
    if (int64_t(outputExprs->size()) != resultType.getRank())
      return node.fail("the output of equation '" + equation +
                       "' does not match the result's rank " + Twine(resultType.getRank()));
    maps.push_back(AffineMap::get(numLoops, 0, *outputExprs, context));

    SmallVector<utils::IteratorType> iterators(numLoops, utils::IteratorType::reduction);
    SmallVector<Value> sizes;
    for (auto [dim, expr] : llvm::enumerate(*outputExprs)) {
      int64_t loop = llvm::cast<AffineDimExpr>(expr).getPosition();
      iterators[loop] = utils::IteratorType::parallel;
      if (resultType.isDynamicDim(dim)) {
        auto [source, sourceDim] = loopSources[loop];
        if (!source)
          return node.fail("the size of output dimension " + Twine(dim) + " is unknown");
        sizes.push_back(tensor::DimOp::create(rewriter, loc, source, sourceDim));
      }
    }
    Type elementType = resultType.getElementType();
    bool isFloat = llvm::isa<FloatType>(elementType);
    Value init = linalg::FillOp::create(rewriter, loc, scalarConstant(rewriter, loc, elementType, 0),
                                        tensor::EmptyOp::create(rewriter, loc, resultType, sizes).getResult())
                     .getResult(0);
    Value result =
        linalg::GenericOp::create(
            rewriter, loc, resultType, inputs, init, maps, iterators,
            [&](OpBuilder &b, Location l, ValueRange args) {
              Value product = args.front();
              for (Value factor : args.drop_front().drop_back())
                product = isFloat ? Value(arith::MulFOp::create(b, l, product, factor))
                                  : Value(arith::MulIOp::create(b, l, product, factor));
              Value sum = isFloat ? Value(arith::AddFOp::create(b, l, args.back(), product))
                                  : Value(arith::AddIOp::create(b, l, args.back(), product));
              linalg::YieldOp::create(b, l, sum);
            })
            .getResult(0);
    rewriter.replaceOp(node.getOp(), result);
    return success();
  }
};

} // namespace

void moec::legalize::populateEinsumPatterns(RewritePatternSet &patterns,
                                            const TypeConverter &converter) {
  patterns.add<LegalizeEinsum>(converter, patterns.getContext());
}
