// RUN: moe-opt %s --split-input-file --verify-diagnostics

func.func @unreferenced_region(%c: tensor<i1>) {
  // expected-error @+1 {{region 0 is not the graph of any attribute}}
  onnx.node "If"(%c) subgraphs {
    onnx.yield
  } : (tensor<i1>) -> ()
  return
}

// -----

func.func @region_out_of_range(%c: tensor<i1>) {
  // expected-error @+1 {{attribute 'body' refers to region 1, but the node has 1}}
  onnx.node "Loop"(%c) {node_attrs = {body = [#onnx.graph<0>, #onnx.graph<1>]}} subgraphs {
    onnx.yield
  } : (tensor<i1>) -> ()
  return
}

// -----

func.func @empty_op_type() {
  // expected-error @+1 {{needs a non-empty op_type}}
  onnx.node ""() : () -> ()
  return
}

// -----

func.func @constant_type_mismatch() {
  // expected-error @+1 {{all of {value, result} have same type}}
  %w = "onnx.constant"() {name = "w", value = dense<1.0> : tensor<2xf32>} : () -> tensor<3xf32>
  return
}
