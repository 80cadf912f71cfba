"""Writes the small ONNX models that the importer's lit tests import.

Usage: make_models.py NAME[,NAME...] OUTDIR — writes OUTDIR/NAME.onnx (and any external
data beside it) for each NAME. Each NAME is one function below; most build a model with onnx.helper, the bad-input
ones write broken bytes on purpose.
"""
import os
import random
import shutil
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = [helper.make_opsetid("", 17)]


def model(nodes, inputs, outputs, initializers=(), value_info=(), opsets=OPSET, name="g"):
    graph = helper.make_graph(nodes, name, inputs, outputs, list(initializers),
                              value_info=list(value_info))
    return helper.make_model(graph, opset_imports=opsets, ir_version=8,
                             producer_name="make_models")


def tensor_info(name, elem_type, shape):
    return helper.make_tensor_value_info(name, elem_type, shape)


def identity_model(initializers, opsets=OPSET):
    """A model returning each initializer: enough to see how tensors import."""
    outputs = [helper.make_empty_tensor_value_info(t.name) for t in initializers]
    return model([], [], outputs, initializers, opsets=opsets)


def subgraph(name, value):
    """A graph without inputs whose one output is the constant `value`."""
    out = f"{name}_out"
    const = helper.make_node("Constant", [], [out], value=numpy_helper.from_array(
        np.array(value, dtype=np.float32)), name=f"{name}_const")
    return helper.make_graph([const], name, [], [tensor_info(out, TensorProto.FLOAT, [])])


def attributes():
    tensor = numpy_helper.from_array(np.array([1, 2], dtype=np.int32), "t")
    node = helper.make_node(
        "Custom", ["x"], ["y"], name="custom", domain="moec.test",
        an_int=7, a_float=0.5, a_string="hello", a_tensor=tensor,
        a_graph=subgraph("g0", 1.0),
        some_ints=[1, -2], some_floats=[0.25, 4.0], some_strings=["a", "b"],
        some_tensors=[tensor, numpy_helper.from_array(np.array(3.0, dtype=np.float32), "s")],
        some_graphs=[subgraph("g1", 2.0), subgraph("g2", 3.0)])
    node.attribute.append(helper.make_attribute(
        "a_type", helper.make_tensor_type_proto(TensorProto.INT64, [2])))
    node.attribute.append(helper.make_attribute(
        "some_types", [helper.make_tensor_type_proto(TensorProto.FLOAT, None),
                       helper.make_sequence_type_proto(
                           helper.make_tensor_type_proto(TensorProto.BOOL, [1]))]))
    return model([node], [tensor_info("x", TensorProto.FLOAT, [2])],
                 [tensor_info("y", TensorProto.FLOAT, [2])],
                 opsets=OPSET + [helper.make_opsetid("moec.test", 1)])


# Every TensorProto.DataType code the importer maps to an MLIR element type, with two
# elements of raw data each (the 4-bit and 2-bit types pack both into one byte).
ELEMENT_TYPES = {
    "f32": 1, "u8": 2, "i8": 3, "u16": 4, "i16": 5, "i32": 6, "i64": 7, "bool": 9,
    "f16": 10, "f64": 11, "u32": 12, "u64": 13, "c64": 14, "c128": 15, "bf16": 16,
    "f8e4m3fn": 17, "f8e4m3fnuz": 18, "f8e5m2": 19, "f8e5m2fnuz": 20,
    "u4": 21, "i4": 22, "f4e2m1": 23, "f8e8m0": 24, "u2": 25, "i2": 26,
}
ELEMENT_BYTES = {1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 12: 4,
                 13: 8, 14: 8, 15: 16, 16: 2, 17: 1, 18: 1, 19: 1, 20: 1, 24: 1}


def element_types():
    tensors = []
    for name, code in ELEMENT_TYPES.items():
        size = 1 if code in (21, 22, 23, 25, 26) else 2 * ELEMENT_BYTES[code]
        tensors.append(TensorProto(name=name, data_type=code, dims=[2],
                                   raw_data=bytes(range(1, size + 1))))
    tensors.append(helper.make_tensor("str", TensorProto.STRING, [2], [b"ab", b"c"]))
    return identity_model(tensors)


def typed_fields():
    """Tensors stored in the typed repeated fields instead of raw_data."""
    return identity_model([
        helper.make_tensor("floats", TensorProto.FLOAT, [2], [1.0, 2.0]),
        helper.make_tensor("halves", TensorProto.FLOAT16, [2], np.array([1.0, 2.0], np.float16)),
        helper.make_tensor("bools", TensorProto.BOOL, [3], [True, False, True]),
        helper.make_tensor("int8s", TensorProto.INT8, [2], [-1, 2]),
        helper.make_tensor("int64s", TensorProto.INT64, [2], [-1, 2]),
        helper.make_tensor("uint32s", TensorProto.UINT32, [2], [1, 4294967295]),
        helper.make_tensor("doubles", TensorProto.DOUBLE, [1], [0.5]),
        TensorProto(name="int4s", data_type=22, dims=[3], int32_data=[0x21, 0x03]),
    ])


def write_external(out_dir, tensors, file_name="weights.bin", prefix=b"", locations=None):
    """Stores `tensors` in one external file after `prefix`, each at its own offset."""
    data = bytearray(prefix)
    for tensor in tensors:
        raw = tensor.raw_data
        tensor.ClearField("raw_data")
        tensor.data_location = TensorProto.EXTERNAL
        location = (locations or {}).get(tensor.name, file_name)
        for key, value in (("location", location), ("offset", str(len(data))),
                           ("length", str(len(raw)))):
            entry = tensor.external_data.add()
            entry.key, entry.value = key, value
        data += raw
    with open(os.path.join(out_dir, file_name), "wb") as f:
        f.write(data)


def external_model(out_dir, file_bytes=None, locations=None):
    weights = [numpy_helper.from_array(np.arange(4, dtype=np.float32).reshape(2, 2), "w"),
               numpy_helper.from_array(np.array([7, 8, 9], dtype=np.int64), "b")]
    write_external(out_dir, weights, prefix=b"xyz", locations=locations)
    if file_bytes is not None:
        path = os.path.join(out_dir, "weights.bin")
        with open(path, "rb") as f:
            data = f.read()
        with open(path, "wb") as f:
            f.write(data[:file_bytes])
    return identity_model(weights)


def external(out_dir):
    return external_model(out_dir)


def external_short(out_dir):
    return external_model(out_dir, file_bytes=20)


def external_missing(out_dir):
    return external_model(out_dir, locations={"b": "missing.bin"})


def external_dotdot(out_dir):
    return external_model(out_dir, locations={"w": "../weights.bin"})


def external_nul(out_dir):
    return external_model(out_dir, locations={"w": "weights.bin\0../../secret"})


def external_symlink(out_dir):
    """weights.bin is a symbolic link to a file outside the model's folder (OUT_DIR-outside)."""
    built = external_model(out_dir)
    outside = out_dir.rstrip("/") + "-outside"
    shutil.rmtree(outside, ignore_errors=True)
    os.makedirs(outside)
    os.rename(os.path.join(out_dir, "weights.bin"), os.path.join(outside, "weights.bin"))
    os.symlink(os.path.abspath(os.path.join(outside, "weights.bin")),
               os.path.join(out_dir, "weights.bin"))
    return built


def external_fifo(out_dir):
    """The external data file is a FIFO, which nothing writes: reading it would block."""
    built = external_model(out_dir, locations={"b": "pipe.bin"})
    os.mkfifo(os.path.join(out_dir, "pipe.bin"))
    return built


def external_absolute(out_dir):
    return external_model(out_dir, locations={"w": os.path.abspath(
        os.path.join(out_dir, "weights.bin"))})


def subgraphs():
    cond = tensor_info("cond", TensorProto.BOOL, [])
    branch = helper.make_node("If", ["cond"], ["r"], name="if",
                              then_branch=subgraph("then", 1.0),
                              else_branch=subgraph("else", 2.0))
    # Loop body: (iteration, cond, acc) -> (cond, acc + x), x from the enclosing graph.
    body = helper.make_graph(
        [helper.make_node("Identity", ["c_in"], ["c_out"], name="keep_going"),
         helper.make_node("Add", ["acc_in", "x"], ["acc_out"], name="accumulate")],
        "body",
        [tensor_info("i", TensorProto.INT64, []), tensor_info("c_in", TensorProto.BOOL, []),
         tensor_info("acc_in", TensorProto.FLOAT, [2])],
        [tensor_info("c_out", TensorProto.BOOL, []),
         tensor_info("acc_out", TensorProto.FLOAT, [2])])
    loop = helper.make_node("Loop", ["n", "", "init"], ["acc"], name="loop", body=body)
    return model([branch, loop],
                 [cond, tensor_info("n", TensorProto.INT64, []),
                  tensor_info("x", TensorProto.FLOAT, [2]),
                  tensor_info("init", TensorProto.FLOAT, [2])],
                 [tensor_info("r", TensorProto.FLOAT, []),
                  tensor_info("acc", TensorProto.FLOAT, [2])])


def contrib_node(opsets):
    node = helper.make_node("FusedMatMul", ["a", "b"], ["y"], name="fused",
                            domain="com.microsoft", alpha=2.0)
    return model([node], [tensor_info("a", TensorProto.FLOAT, [2, 3]),
                          tensor_info("b", TensorProto.FLOAT, [3, 4])],
                 [tensor_info("y", TensorProto.FLOAT, None)], opsets=opsets)


def contrib():
    return contrib_node(OPSET + [helper.make_opsetid("com.microsoft", 1)])


def contrib_no_opset():
    return contrib_node(OPSET)


def dim_params():
    node = helper.make_node("Relu", ["x"], ["y"], name="relu")
    return model([node], [tensor_info("x", TensorProto.FLOAT, ["batch", 4, None])],
                 [tensor_info("y", TensorProto.FLOAT, ["batch", 4, None])])


def metadata():
    built = shape_inference()
    helper.set_model_props(built, {"author": "moec", "license": "MIT"})
    return built


def shape_inference():
    nodes = [helper.make_node("Add", ["x", "x"], ["sum"], name="add"),
             helper.make_node("Relu", ["sum"], ["y"], name="relu")]
    return model(nodes, [tensor_info("x", TensorProto.FLOAT, [2, 3])],
                 [tensor_info("y", TensorProto.FLOAT, [2, 3])])


def constants():
    nodes = [helper.make_node("Constant", [], ["c_tensor"], name="c0",
                              value=numpy_helper.from_array(np.array([1.5], np.float32))),
             helper.make_node("Constant", [], ["c_float"], name="c1", value_float=2.5),
             helper.make_node("Constant", [], ["c_ints"], name="c2", value_ints=[1, 2, 3]),
             helper.make_node("Constant", [], ["c_string"], name="c3", value_string="hi")]
    outputs = [helper.make_empty_tensor_value_info(n.output[0]) for n in nodes]
    return model(nodes, [], outputs)


def optional_input():
    node = helper.make_node("Clip", ["x", "", "hi"], ["y"], name="clip")
    return model([node], [tensor_info("x", TensorProto.FLOAT, [3])],
                 [tensor_info("y", TensorProto.FLOAT, [3])],
                 [numpy_helper.from_array(np.array(1.0, np.float32), "hi")])


def unsorted():
    """Nodes out of order (ONNX requires sorted graphs; exporters slip)."""
    nodes = [helper.make_node("Relu", ["sum"], ["y"], name="relu"),
             helper.make_node("Add", ["x", "x"], ["sum"], name="add")]
    return model(nodes, [tensor_info("x", TensorProto.FLOAT, [2])],
                 [tensor_info("y", TensorProto.FLOAT, [2])])


def initializer_input():
    """IR version 3: an initializer that is also a graph input is the input's default."""
    built = model([helper.make_node("Relu", ["w"], ["y"], name="relu")],
                  [tensor_info("w", TensorProto.FLOAT, [2])],
                  [tensor_info("y", TensorProto.FLOAT, [2])],
                  [numpy_helper.from_array(np.array([1, -1], np.float32), "w")])
    built.ir_version = 3
    return built


def initializer_value_info_mismatch():
    """An initializer [2, 3] whose value_info says [3, 2]."""
    return model([helper.make_node("Relu", ["w"], ["y"], name="relu")], [],
                 [tensor_info("y", TensorProto.FLOAT, None)],
                 [numpy_helper.from_array(np.zeros((2, 3), np.float32), "w")],
                 [tensor_info("w", TensorProto.FLOAT, [3, 2])])


def initializer_declared_scalar():
    """An initializer [1] whose value_info says it is a scalar, in opset 20 as transformers'
    cpu fusions write it (ONNX 1.12's shape inference, which would refuse it, skips opset 20)."""
    return model([helper.make_node("Relu", ["w"], ["y"], name="relu")], [],
                 [tensor_info("y", TensorProto.FLOAT, None)],
                 [numpy_helper.from_array(np.zeros((1,), np.float32), "w")],
                 [tensor_info("w", TensorProto.FLOAT, [])], opsets=[helper.make_opsetid("", 20)])


def initializer_input_mismatch():
    """IR version 3: an initializer [2] that is also a graph input declared [3]."""
    built = initializer_input()
    built.graph.input[0].type.tensor_type.shape.dim[0].dim_value = 3
    return built


def initializer_dtype_mismatch():
    """An initializer of float32 whose value_info says int64."""
    return model([helper.make_node("Relu", ["w"], ["y"], name="relu")], [],
                 [tensor_info("y", TensorProto.FLOAT, None)],
                 [numpy_helper.from_array(np.zeros((2,), np.float32), "w")],
                 [tensor_info("w", TensorProto.INT64, [2])])


def value_info_contradicts_node():
    """MatMul of [2, 3] by [3, 4] is [2, 4]; the value_info of its result says [2, 5]."""
    nodes = [helper.make_node("MatMul", ["x", "w"], ["h"], name="project"),
             helper.make_node("Relu", ["h"], ["y"], name="relu")]
    return model(nodes, [tensor_info("x", TensorProto.FLOAT, [2, 3])],
                 [tensor_info("y", TensorProto.FLOAT, None)],
                 [numpy_helper.from_array(np.zeros((3, 4), np.float32), "w")],
                 [tensor_info("h", TensorProto.FLOAT, [2, 5])])


def value_types():
    inputs = [
        helper.make_value_info("seq", helper.make_sequence_type_proto(
            helper.make_tensor_type_proto(TensorProto.FLOAT, None))),
        helper.make_value_info("opt", helper.make_optional_type_proto(
            helper.make_tensor_type_proto(TensorProto.INT64, [3]))),
        helper.make_value_info("map", helper.make_map_type_proto(
            TensorProto.STRING, helper.make_tensor_type_proto(TensorProto.FLOAT, []))),
        helper.make_value_info("strings", helper.make_tensor_type_proto(TensorProto.STRING, [2])),
        onnx.ValueInfoProto(name="untyped"),
    ]
    outputs = [helper.make_empty_tensor_value_info(i.name) for i in inputs]
    return model([], inputs, outputs)


def unnamed_nodes():
    nodes = [helper.make_node("Relu", ["x"], ["a"]),
             helper.make_node("Add", ["a", "nowhere"], ["y"])]
    return model(nodes, [tensor_info("x", TensorProto.FLOAT, [2])],
                 [tensor_info("y", TensorProto.FLOAT, [2])])


def subgraph_uses_later_value():
    """An If listed before the node that makes the value its branch reads."""
    then_branch = helper.make_graph(
        [helper.make_node("Identity", ["doubled"], ["then_out"], name="then_identity")],
        "then", [], [tensor_info("then_out", TensorProto.FLOAT, [2])])
    nodes = [helper.make_node("If", ["cond"], ["y"], name="if", then_branch=then_branch,
                              else_branch=subgraph("else", 0.0)),
             helper.make_node("Add", ["x", "x"], ["doubled"], name="double")]
    return model(nodes, [tensor_info("cond", TensorProto.BOOL, []),
                         tensor_info("x", TensorProto.FLOAT, [2])],
                 [tensor_info("y", TensorProto.FLOAT, None)])


def local_function():
    """A model-local function whose node refers to the function's attribute, called by a
    node of the main graph; and a second function of the same name."""
    leaky = helper.make_node("LeakyRelu", ["a"], ["b"], name="leaky")
    leaky.attribute.append(onnx.AttributeProto(name="alpha", ref_attr_name="slope",
                                               type=onnx.AttributeProto.FLOAT))
    function = helper.make_function(
        "moec.test", "ScaledLeakyRelu", ["a"], ["c"],
        [leaky, helper.make_node("Add", ["b", "b"], ["c"], name="twice")],
        [helper.make_opsetid("", 17)], attributes=["slope"])
    call = helper.make_node("ScaledLeakyRelu", ["x"], ["y"], name="call",
                            domain="moec.test", slope=0.5)
    built = model([call], [tensor_info("x", TensorProto.FLOAT, [2])],
                  [tensor_info("y", TensorProto.FLOAT, [2])],
                  opsets=OPSET + [helper.make_opsetid("moec.test", 1)])
    built.functions.append(function)
    return built


def function_twice():
    built = local_function()
    built.functions.append(built.functions[0])
    return built


def sparse():
    """Sparse tensors: an initializer (2-D indices), a Constant's sparse_value (linearized
    indices) and a node attribute."""
    def sparse_tensor(name, values, indices, dims):
        return helper.make_sparse_tensor(
            numpy_helper.from_array(np.array(values, np.float32), name),
            numpy_helper.from_array(np.array(indices, np.int64), name + "_indices"), dims)
    constant = helper.make_node("Constant", [], ["c"], name="const",
                                sparse_value=sparse_tensor("c", [5.0], [3], [2, 2]))
    custom = helper.make_node("Custom", ["w", "c"], ["y"], name="custom", domain="moec.test",
                              pattern=sparse_tensor("p", [1.0], [[0]], [4]))
    built = model([constant, custom], [], [tensor_info("y", TensorProto.FLOAT, None)],
                  opsets=OPSET + [helper.make_opsetid("moec.test", 1)])
    built.graph.sparse_initializer.append(
        sparse_tensor("w", [1.0, 2.0], [[0, 1], [1, 0]], [2, 2]))
    return built


def sparse_out_of_range():
    built = sparse()
    built.graph.sparse_initializer[0].indices.CopyFrom(
        numpy_helper.from_array(np.array([[0, 1], [1, 7]], np.int64), "w_indices"))
    return built


# Bad input.

def cycle():
    nodes = [helper.make_node("Add", ["x", "b"], ["a"], name="first"),
             helper.make_node("Relu", ["a"], ["b"], name="second")]
    return model(nodes, [tensor_info("x", TensorProto.FLOAT, [2])],
                 [tensor_info("b", TensorProto.FLOAT, [2])])


def undefined_input():
    node = helper.make_node("MatMul", ["x", "x7"], ["y"], name="matmul_3")
    return model([node], [tensor_info("x", TensorProto.FLOAT, [2, 2])],
                 [tensor_info("y", TensorProto.FLOAT, [2, 2])])


def newline_in_name():
    node = helper.make_node("MatMul", ["x", "x7"], ["y"], name="two\nlines")
    return model([node], [tensor_info("x", TensorProto.FLOAT, [2, 2])],
                 [tensor_info("y", TensorProto.FLOAT, [2, 2])])


def duplicate_initializer():
    w = numpy_helper.from_array(np.ones(2, np.float32), "w")
    return identity_model([w, w])


def bad_element_type():
    return identity_model([TensorProto(name="w", data_type=99, dims=[1], raw_data=b"\0")])


def bad_node_element_type():
    node = helper.make_node("Cast", ["x"], ["y"], name="cast", to=1)
    node.attribute.append(helper.make_attribute(
        "weird", TensorProto(name="t", data_type=77, dims=[1], raw_data=b"\0")))
    return model([node], [tensor_info("x", TensorProto.FLOAT, [1])],
                 [tensor_info("y", TensorProto.FLOAT, [1])])


def raw_data_size():
    return identity_model([TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[2],
                                       raw_data=b"\0" * 6)])


def huge_shape():
    """A shape of 2^50 floats with no data: an error, not an attempt to allocate 4 PiB."""
    return identity_model([TensorProto(name="w", data_type=TensorProto.FLOAT,
                                       dims=[2**25, 2**25])])


def external_length(out_dir):
    built = external_model(out_dir)
    for entry in built.graph.initializer[0].external_data:
        if entry.key == "length":
            entry.value = "15"
    return built


def output_twice():
    nodes = [helper.make_node("Add", ["x", "x"], ["y"], name="add"),
             helper.make_node("Relu", ["x"], ["y"], name="relu")]
    return model(nodes, [tensor_info("x", TensorProto.FLOAT, [2])],
                 [tensor_info("y", TensorProto.FLOAT, [2])])


def one_node(node, inputs=(("x", TensorProto.FLOAT, [2]),)):
    """A model of `node` alone: its outputs are the graph's, without declared shapes."""
    return model([node], [tensor_info(*spec) for spec in inputs],
                 [tensor_info(name, TensorProto.FLOAT, None) for name in node.output])


# Nodes with more or fewer inputs or outputs than their op takes (onnxruntime refuses each).
def mul_three_inputs():
    return one_node(helper.make_node("Mul", ["x", "x", "x"], ["y"], name="mul"))


def transpose_two_inputs():
    return one_node(helper.make_node("Transpose", ["x", "x"], ["y"], name="transpose"))


def relu_no_input():
    return one_node(helper.make_node("Relu", [], ["y"], name="relu"))


def gather_one_input_opset18():
    """Past libonnx's newest opset (17), the least number of inputs is still held."""
    built = one_node(helper.make_node("Gather", ["x"], ["y"], name="gather"))
    built.opset_import[0].version = 18
    return built


def gather_omitted_indices():
    """A required input given the empty name that omits optional ones."""
    return one_node(helper.make_node("Gather", ["x", ""], ["y"], name="gather"))


def split_no_output():
    return one_node(helper.make_node("Split", ["x"], [], name="split"))


def undefined_output():
    node = helper.make_node("Relu", ["x"], ["y"], name="relu")
    return model([node], [tensor_info("x", TensorProto.FLOAT, [2])],
                 [tensor_info("z", TensorProto.FLOAT, [2])])


def scan_without_num_scan_inputs():
    """A Scan without its required num_scan_inputs: crashes libonnx 1.12's shape inference
    (found by the fuzzer)."""
    body = helper.make_graph(
        [helper.make_node("Add", ["sum_in", "next"], ["sum_out"], name="add"),
         helper.make_node("Identity", ["sum_out"], ["scan_out"], name="identity")],
        "scan_body",
        [tensor_info("sum_in", TensorProto.FLOAT, [2]), tensor_info("next", TensorProto.FLOAT, [2])],
        [tensor_info("sum_out", TensorProto.FLOAT, [2]),
         tensor_info("scan_out", TensorProto.FLOAT, [2])])
    node = helper.make_node("Scan", ["initial", "x"], ["y", "z"], name="scan", body=body)
    return model([node], [tensor_info("initial", TensorProto.FLOAT, [2]),
                          tensor_info("x", TensorProto.FLOAT, [3, 2])],
                 [tensor_info("y", TensorProto.FLOAT, [2]),
                  tensor_info("z", TensorProto.FLOAT, [3, 2])])


def write_bytes(out_dir, name, data):
    with open(os.path.join(out_dir, name + ".onnx"), "wb") as f:
        f.write(data)


def write_model(name, out_dir):
    if name == "empty":
        return write_bytes(out_dir, name, b"")
    if name == "random":
        return write_bytes(out_dir, name, random.Random(3).randbytes(4096))
    if name == "truncated":
        data = shape_inference().SerializeToString()
        return write_bytes(out_dir, name, data[:len(data) // 2])
    make = globals()[name]
    built = make(out_dir) if make.__code__.co_argcount else make()
    write_bytes(out_dir, name, built.SerializeToString())


def main():
    names, out_dir = sys.argv[1], sys.argv[2]
    os.makedirs(out_dir, exist_ok=True)
    for name in names.split(","):
        write_model(name, out_dir)


if __name__ == "__main__":
    main()
