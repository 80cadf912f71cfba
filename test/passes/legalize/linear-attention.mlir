// RUN: moe-opt %s -moec-legalize-onnx | FileCheck %s
// LinearAttention (27) with the gated delta rule, 4 query heads over 2 KV heads, a decay
// per head and one beta for all heads: a loop over the tokens carrying the state
// [B, 2, 2, 3] and the output [B, T, 2, 2, 3]. Each step decays the state by exp(g),
// reads Sᵀ k (summing over dk), adds k (β (v - Sᵀ k))ᵀ, and sums Sᵀ q into the token's
// row of the output; after the loop, the output is scaled by 1 / √dk.

// CHECK-DAG: #[[HEAD:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1)>
// CHECK-DAG: #[[STATE:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
// CHECK-DAG: #[[STATE_T:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3, d2)>
// CHECK-DAG: #[[SHARED:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, 0)>
// CHECK-LABEL: func.func @gated_delta
// CHECK-SAME: %[[PAST:[a-z0-9]*]]: tensor<?x2x2x3xf32>, %{{.*}}: tensor<?x?x2xf32>, %{{.*}}: tensor<?x?x1xf32>)
// CHECK: %[[Q:.*]] = tensor.expand_shape %{{.*}} {{\[\[}}0], [1], [2, 3, 4]] {{.*}} into tensor<?x?x2x2x2xf32>
// CHECK: %[[LOOP:.*]]:2 = scf.for %[[T:.*]] = {{.*}} iter_args(%[[S:.*]] = %[[PAST]], %[[OUT:.*]] = %{{.*}}) -> (tensor<?x2x2x3xf32>, tensor<?x?x2x2x3xf32>)
// CHECK: %[[DECAYED:.*]] = linalg.generic {indexing_maps = [#[[HEAD]], #[[STATE]]], {{.*}} outs(%[[S]]
// CHECK: math.exp
// CHECK: %[[READ:.*]] = linalg.generic {indexing_maps = [#[[STATE_T]], {{.*}}, "reduction"]} ins(%[[DECAYED]],
// CHECK: %[[UPDATED:.*]] = linalg.generic {{.*}}#[[SHARED]], #[[STATE]]]{{.*}} ins({{.*}}, %[[READ]], {{.*}}) outs(%[[DECAYED]]
// CHECK: arith.subf
// CHECK: %[[QUERY:.*]] = tensor.extract_slice %[[Q]][0, %[[T]], 0, 0, 0]
// CHECK: %[[ROW:.*]] = tensor.extract_slice %[[OUT]][0, %[[T]], 0, 0, 0]
// CHECK: %[[ZEROED:.*]] = linalg.fill {{.*}} outs(%[[ROW]]
// CHECK: %[[O:.*]] = linalg.generic {{.*}} ins(%[[QUERY]], %[[UPDATED]] : {{.*}}) outs(%[[ZEROED]]
// CHECK: %[[NEXT:.*]] = tensor.insert_slice %[[O]] into %[[OUT]][0, %[[T]], 0, 0, 0]
// CHECK: scf.yield %[[UPDATED]], %[[NEXT]]
// CHECK: arith.constant 0.707106769 : f32
// CHECK: tensor.collapse_shape {{.*}} {{\[\[}}0], [1], [2, 3, 4]] {{.*}} into tensor<?x?x12xf32>
// CHECK: return {{.*}}, %[[LOOP]]#0
module attributes {onnx.opset_imports = {ai.onnx = 27 : i64}} {
  func.func @gated_delta(%q: tensor<?x?x8xf32>, %k: tensor<?x?x4xf32>, %v: tensor<?x?x6xf32>, %s: tensor<?x2x2x3xf32>, %g: tensor<?x?x2xf32>, %b: tensor<?x?x1xf32>) -> (tensor<?x?x12xf32>, tensor<?x2x2x3xf32>) {
    %y, %state = onnx.node "LinearAttention"(%q, %k, %v, %s, %g, %b) {name = "attn", node_attrs = {q_num_heads = 4 : i64, kv_num_heads = 2 : i64}} : (tensor<?x?x8xf32>, tensor<?x?x4xf32>, tensor<?x?x6xf32>, tensor<?x2x2x3xf32>, tensor<?x?x2xf32>, tensor<?x?x1xf32>) -> (tensor<?x?x12xf32>, tensor<?x2x2x3xf32>)
    return %y, %state : tensor<?x?x12xf32>, tensor<?x2x2x3xf32>
  }
}
