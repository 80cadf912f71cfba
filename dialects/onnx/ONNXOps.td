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
