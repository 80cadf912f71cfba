#ifndef MOEC_DIALECT_ONNX_ONNXOPS_TD
#define MOEC_DIALECT_ONNX_ONNXOPS_TD

include "ONNXDialect.td"
include "mlir/Interfaces/ControlFlowInterfaces.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

class ONNX_Op<string mnemonic, list<Trait> traits = []>
    : Op<ONNX_Dialect, mnemonic, traits>;

def ONNX_NodeOp : ONNX_Op<"node", [RecursiveMemoryEffects]> {
  let summary = "One ONNX node, any op_type of any domain";
  let description = [{
    The generic image of an ONNX `NodeProto`:

    - `op_type` and `domain` (`""` is the default domain `ai.onnx`; contrib ops of
      onnxruntime have `com.microsoft`). The opset version of each domain is on the
      module (`onnx.opset_imports`).
    - `name`: the node's name (also its location, so diagnostics point at it).
    - `node_attrs`: the node's ONNX attributes by name: `i64` integers, `f32` floats,
      strings, tensors (elements attributes), `array<i64>` / `array<f32>` for lists of
      ints and floats, arrays for the other lists, types for TYPE_PROTO attributes, and
      `#onnx.graph<N>` for graphs, which are the node's regions.
    - operands: the node's inputs in order; an empty optional input is an `onnx.none`.
    - results: the node's outputs in order; an empty optional output has type `none`.
    - regions: the graphs of GRAPH and GRAPHS attributes. Each region has one block whose
      arguments are the subgraph's inputs and which ends in `onnx.yield` of its outputs.
      Subgraphs use values of enclosing graphs directly.

    Passes read a node through the op's C++ accessors, not `node_attrs` or the module's
    attributes: `getIntAttr`, `getFloatAttr`, `getStringAttr`, `getIntsAttr`,
    `getFloatsAttr` and `getTensorAttr` (an attribute with the default the caller gives),
    `hasInput` / `getOptionalInput` (an omitted optional input is null) and
    `getOpsetVersion` (the opset the model imports for the node's domain).

    Example:

    ```mlir
    %y = onnx.node "Gemm"(%a, %b, %c) {name = "fc1", node_attrs = {transB = 1 : i64}}
        : (tensor<2x4xf32>, tensor<3x4xf32>, tensor<3xf32>) -> tensor<2x3xf32>
    ```
  }];
  let arguments = (ins StrAttr:$op_type, DefaultValuedStrAttr<StrAttr, "">:$domain,
                       DefaultValuedStrAttr<StrAttr, "">:$name,
                       DefaultValuedAttr<DictionaryAttr, "{}">:$node_attrs,
                       Variadic<AnyType>:$inputs);
  let results = (outs Variadic<AnyType>:$outputs);
  let regions = (region VariadicRegion<SizedRegion<1>>:$subgraphs);
  let assemblyFormat = [{
    $op_type `(` $inputs `)` attr-dict (`subgraphs` $subgraphs^)?
    `:` functional-type($inputs, results)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    //===------------------------------------------------------------------===//
    // Typed access to the node, so that no pass reads `node_attrs` or the
    // module's opset imports by hand. The defaults that callers pass are
    // ONNX's defaults for the op.
    //===------------------------------------------------------------------===//

    /// Whether the node has ONNX attribute `name`.
    bool hasNodeAttr(::llvm::StringRef name);
    /// ONNX attribute `name` as an integer (INT), or `defaultValue` when the
    /// node has no integer attribute of that name.
    int64_t getIntAttr(::llvm::StringRef name, int64_t defaultValue);
    /// ONNX attribute `name` as a float (FLOAT), or `defaultValue` when absent.
    double getFloatAttr(::llvm::StringRef name, double defaultValue);
    /// ONNX attribute `name` as a string (STRING), or `defaultValue` when absent.
    ::llvm::StringRef getStringAttr(::llvm::StringRef name,
                                    ::llvm::StringRef defaultValue);
    /// ONNX attribute `name` as a list of integers (INTS), or nothing when absent.
    std::optional<::llvm::SmallVector<int64_t>> getIntsAttr(::llvm::StringRef name);
    /// ONNX attribute `name` as a list of floats (FLOATS), widened to double, or
    /// nothing when absent.
    std::optional<::llvm::SmallVector<double>> getFloatsAttr(::llvm::StringRef name);
    /// ONNX attribute `name` as a tensor (TENSOR), or null when absent.
    ::mlir::ElementsAttr getTensorAttr(::llvm::StringRef name);

    /// Input `index`, or null when the node has fewer inputs or the input is an
    /// omitted optional one (an `onnx.none`, of type `none`).
    ::mlir::Value getOptionalInput(unsigned index);
    /// Whether input `index` exists and is not an omitted optional input.
    bool hasInput(unsigned index) { return static_cast<bool>(getOptionalInput(index)); }

    /// The opset version of the node's domain (`""` is `ai.onnx`), as the model
    /// imports it: from the nearest enclosing op that carries
    /// `onnx.opset_imports` (the module, or a model-local function). Nothing
    /// when no such op lists the domain.
    std::optional<int64_t> getOpsetVersion();
  }];
}

def ONNX_NoneOp : ONNX_Op<"none", [Pure]> {
  let summary = "An absent optional input";
  let description = [{
    Stands for an empty name in a node's input list (an optional input left out), so that
    the inputs after it keep their positions: `%none = onnx.none`.
  }];
  let results = (outs NoneType:$result);
  let assemblyFormat = "attr-dict";
}

def ONNX_ConstantOp : ONNX_Op<"constant", [Pure, AllTypesMatch<["value", "result"]>]> {
  let summary = "An ONNX initializer or the value of a Constant node";
  let description = [{
    A named tensor known at compile time: a graph initializer, or the output of a
    `Constant` node (its location is then the node's). Numeric values are dense resources
    (`dense_resource<...>`): inline data is held once, and external data stays memory
    mapped from its file. String tensors are dense string elements.

    ```mlir
    %w = onnx.constant "fc1.weight" dense_resource<fc1.weight> : tensor<3x4xf32>
    ```
  }];
  let arguments = (ins StrAttr:$name, ElementsAttr:$value);
  let results = (outs AnyTensor:$result);
  let assemblyFormat = "$name $value attr-dict";
}

def ONNX_YieldOp : ONNX_Op<"yield", [Pure, Terminator, ReturnLike, HasParent<"NodeOp">]> {
  let summary = "The outputs of a subgraph";
  let description = [{
    Ends the region of a subgraph (`If` branch, `Loop` or `Scan` body) with the values of
    the subgraph's outputs in order.
  }];
  let arguments = (ins Variadic<AnyType>:$values);
  let assemblyFormat = "($values^ `:` type($values))? attr-dict";
}

#endif // MOEC_DIALECT_ONNX_ONNXOPS_TD
