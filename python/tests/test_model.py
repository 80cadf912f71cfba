"""moec.load: a compiled library's description and runs through its C ABI."""

import numpy as np
import pytest
from onnx import TensorProto, helper

import moec


@pytest.fixture
def model(relu_matmul, tmp_path):
    return moec.load(moec.compile(relu_matmul[0], tmp_path / "model.so"))


def test_info_names_dtypes_and_shapes(model):
    assert model.info == {
        "target": "host",
        "inputs": [moec.TensorInfo("x", "float32", ("tokens", 4))],
        "outputs": [moec.TensorInfo("y", "float32", ("tokens", 3))],
    }


def test_runs_any_number_of_tokens(model, relu_matmul):
    for tokens in (1, 7):
        x = np.random.default_rng(tokens).standard_normal((tokens, 4), dtype=np.float32)
        np.testing.assert_allclose(model(x=x)["y"], relu_matmul[1](x), rtol=1e-6)


def test_wrong_inputs_raise_model_error(model):
    with pytest.raises(moec.ModelError, match="float64"):
        model(x=np.zeros((2, 4)))
    with pytest.raises(moec.ModelError, match="missing: x"):
        model()
    with pytest.raises(moec.ModelError):
        model(x=np.zeros((2, 5), dtype=np.float32))


def test_bfloat16_goes_in_and_comes_out_as_float32(tmp_path):
    bf16, f32 = TensorProto.BFLOAT16, TensorProto.FLOAT

    def values(*names_and_types):
        return [helper.make_tensor_value_info(name, type, [3]) for name, type in names_and_types]

    graph = helper.make_graph(
        [helper.make_node("Cast", ["x"], ["y"], to=bf16, name="narrow"),
         helper.make_node("Cast", ["b"], ["z"], to=f32, name="widen")],
        "casts", values(("x", f32), ("b", bf16)), values(("y", bf16), ("z", f32)))
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model = moec.load(moec.compile(proto, tmp_path / "casts.so"))
    assert [info.dtype for info in model.inputs] == ["float32", "bfloat16"]
    # 1 + 2^-8 lies halfway between two bfloat16 values and rounds to the even one, 1.
    outputs = model(x=np.array([1.0, 1.00390625, -3.3], np.float32),
                    b=np.array([0.5, 1.00390625, np.nan], np.float32))
    assert outputs["y"].dtype == np.float32
    np.testing.assert_array_equal(outputs["y"], [1.0, 1.0, -3.296875])
    np.testing.assert_array_equal(outputs["z"], [0.5, 1.0, np.nan])
