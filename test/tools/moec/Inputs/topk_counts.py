"""topk_counts.py MODEL.onnx INPUT.npy TOPK_NODE PROFILE.json: checks the first layer of a
`moec profile` against onnxruntime: the experts that the TopK node TOPK_NODE chooses for the
model's one input, counted per expert. Prints the counts, and fails where they differ."""
import json
import sys

import numpy as np
import onnx
import onnxruntime as ort

model_path, input_path, node_name, profile_path = sys.argv[1:]
model = onnx.load(model_path)
(topk,) = [node for node in model.graph.node if node.name == node_name]
model.graph.output.append(onnx.helper.make_empty_tensor_value_info(topk.output[1]))
session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
(indices,) = session.run([topk.output[1]], {model.graph.input[0].name: np.load(input_path)})
profile = json.load(open(profile_path))["layers"][0]
counts = np.bincount(indices.reshape(-1), minlength=len(profile["expert_tokens"])).tolist()
print("onnxruntime:", counts)
print("moec:       ", profile["expert_tokens"])
sys.exit(0 if counts == profile["expert_tokens"] else "the counts differ")
