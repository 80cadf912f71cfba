#ifndef MOEC_DIALECT_ONNX_ONNXDIALECT_TD
#define MOEC_DIALECT_ONNX_ONNXDIALECT_TD

include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/OpBase.td"

def ONNX_Dialect : Dialect {
  let name = "onnx";
  let summary = "ONNX graphs as imported: one generic op per ONNX node";
  let description = [{
    The `onnx` dialect is moec's *onnx level*: a faithful, 1:1 image of an ONNX model.
    Every ONNX node becomes one `onnx.node` op that carries its `op_type`, `domain`,
    name and attributes unchanged, so that no information is lost before raising.
    Initializers and `Constant` nodes become `onnx.constant` ops whose values are dense
    resources (large weights are neither copied nor uniqued); subgraphs (the bodies of
    `If`, `Loop`, `Scan`) are regions of their node.

    Types that MLIR's builtin types cannot express (ONNX strings, sequences, maps,
    optionals, and values whose type the model does not give) are types of this dialect.
  }];
  let cppNamespace = "::moec::onnx";
  let useDefaultTypePrinterParser = 1;
  let useDefaultAttributePrinterParser = 1;
  let extraClassDeclaration = [{
    void registerTypes();
    void registerAttributes();
  }];
}

//===----------------------------------------------------------------------===//
// Types
//===----------------------------------------------------------------------===//

class ONNX_Type<string name, string typeMnemonic> : TypeDef<ONNX_Dialect, name> {
  let mnemonic = typeMnemonic;
}

def ONNX_StringType : ONNX_Type<"String", "string"> {
  let summary = "An ONNX string (a tensor element of type STRING)";
  let description = [{
    The element type of ONNX string tensors, e.g. `tensor<2x!onnx.string>`. ONNX strings
    are byte strings; they are not required to be valid UTF-8.
  }];
}

def ONNX_AnyType : ONNX_Type<"Any", "any"> {
  let summary = "A value whose type the model does not state";
  let description = [{
    The type of a value that has neither a type in the model (graph inputs, outputs and
    value_info) nor one that ONNX's shape inference could find, e.g. the outputs of a
    contrib op that ONNX does not know. Raising passes refine it.
  }];
}

def ONNX_SequenceType : ONNX_Type<"Sequence", "seq"> {
  let summary = "An ONNX sequence of values of one type";
  let description = [{
    `!onnx.seq<tensor<?xf32>>` is an ONNX `seq(tensor(float))`.
  }];
  let parameters = (ins "::mlir::Type":$elementType);
  let assemblyFormat = "`<` $elementType `>`";
}

def ONNX_MapType : ONNX_Type<"Map", "map"> {
  let summary = "An ONNX map from keys of a scalar type to values";
  let description = [{
    `!onnx.map<i64, tensor<f32>>` is an ONNX `map(int64, tensor(float))`.
  }];
  let parameters = (ins "::mlir::Type":$keyType, "::mlir::Type":$valueType);
  let assemblyFormat = "`<` $keyType `,` $valueType `>`";
}

def ONNX_OptionalType : ONNX_Type<"Optional", "opt"> {
  let summary = "An ONNX optional: a value of one type, or nothing";
  let description = [{
    `!onnx.opt<tensor<4xf32>>` is an ONNX `optional(tensor(float))`.
  }];
  let parameters = (ins "::mlir::Type":$elementType);
  let assemblyFormat = "`<` $elementType `>`";
}

//===----------------------------------------------------------------------===//
// Attributes
//===----------------------------------------------------------------------===//

def ONNX_GraphAttr : AttrDef<ONNX_Dialect, "Graph"> {
  let mnemonic = "graph";
  let summary = "A graph-valued ONNX attribute: the index of the node's region holding it";
  let description = [{
    ONNX attributes of kind GRAPH (and each element of kind GRAPHS) are imported as
    regions of their `onnx.node`; the attribute dictionary keeps the attribute's name and
    refers to the region by index. `then_branch = #onnx.graph<0>` says that region 0 is
    the graph of attribute `then_branch`.
  }];
  let parameters = (ins "unsigned":$regionIndex);
  let assemblyFormat = "`<` $regionIndex `>`";
}

def ONNX_AttrRefAttr : AttrDef<ONNX_Dialect, "AttrRef"> {
  let mnemonic = "attr_ref";
  let summary = "An attribute that takes the value of an attribute of the enclosing function";
  let description = [{
    Inside a model-local function, a node's attribute may refer to an attribute of the
    function (ONNX's `ref_attr_name`) instead of holding a value: `alpha =
    #onnx.attr_ref<"alpha">` takes the value that the calling node gives the function's
    attribute `alpha`.
  }];
  let parameters = (ins StringRefParameter<"the function attribute's name">:$name);
  let assemblyFormat = "`<` $name `>`";
}

#endif // MOEC_DIALECT_ONNX_ONNXDIALECT_TD
