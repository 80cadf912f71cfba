"""moec.compile from each kind of model, to each kind of output, and its errors."""

import os
import shutil

import numpy as np
import onnx
import pytest

import moec

MOE_MODEL = os.path.join(os.path.dirname(__file__), "..", "..", "test", "models", "ort-moe",
                         "relu_k1.onnx")


def test_passes_lists_what_disable_passes_takes():
    names = moec.passes()
    assert "moec-raise-hf-moe" in names and "moec-raise-ort-moe" in names


@pytest.mark.parametrize("kind", ["path", "bytes", "proto"])
def test_compiles_and_runs_each_kind_of_model(tmp_path, relu_matmul, kind):
    proto, reference = relu_matmul
    path = tmp_path / "relu_matmul.onnx"
    onnx.save(proto, path)
    model = {"path": path, "bytes": proto.SerializeToString(), "proto": proto}[kind]
    library = moec.compile(model)
    # A file compiles beside itself; bytes and protos into a new temporary folder.
    if kind == "path":
        assert library == str(tmp_path / "relu_matmul.so")
    x = np.linspace(-1, 1, 20, dtype=np.float32).reshape(5, 4)
    outputs = moec.load(library)(x=x)
    np.testing.assert_allclose(outputs["y"], reference(x), rtol=1e-6)
    if kind != "path":
        shutil.rmtree(os.path.dirname(library))


def test_an_executable_compiles_beside_its_model(tmp_path, relu_matmul):
    path = tmp_path / "model.onnx"
    onnx.save(relu_matmul[0], path)
    assert moec.compile(path, emit="exe") == str(tmp_path / "model")
    assert os.access(tmp_path / "model", os.X_OK)


def test_raises_an_moe_layer_and_writes_mlir(tmp_path):
    out = moec.compile(MOE_MODEL, tmp_path / "raised.mlir", emit="mlir", stop_after="raise")
    assert "moe.layer" in open(out).read()
    out = moec.compile(MOE_MODEL, tmp_path / "kept.mlir", emit="mlir", stop_after="raise",
                       disable_passes=["moec-raise-ort-moe"])
    assert "moe.layer" not in open(out).read()


def test_bad_bytes_raise_compile_error(tmp_path):
    with pytest.raises(moec.CompileError) as error:
        moec.compile(b"not a model", tmp_path / "model.so")
    assert error.value.status == 2
    assert error.value.diagnostics[0].startswith("error: model.onnx: ")
    assert not os.path.exists(tmp_path / "model.so")


def test_quantizes_expert_weights(tmp_path):
    out = moec.compile(MOE_MODEL, tmp_path / "int4.mlir", emit="mlir", stop_after="optimize",
                       quantize="int4", quantize_group=8)
    assert "moe.dequantize" in open(out).read()


@pytest.mark.parametrize("options, message", [
    ({"quantize": "fp8", "quantize_scheme": "asymmetric"},
     "error: --quantize-scheme says how --quantize quantizes: use it with --quantize=int8 or int4"),
    ({"quantize": "int8", "target": "sm_90"},
     "error: --quantize runs on the host target only in this build (the GPU kernels take f32 "
     "weights): use it with --target=host, or with --stop-after to see the MLIR"),
    ({"disable_passes": ["moec-nothing"]},
     "error: --disable-pass=moec-nothing: no optional pass has that name (see docs/moec.md)"),
    ({"target": "tpu"},
     "error: --target=tpu: expected one of host, sm_80, sm_89, sm_90, sm_90a, cuda"),
])
def test_what_cannot_be_done_raises_compile_error(tmp_path, options, message):
    with pytest.raises(moec.CompileError) as error:
        moec.compile(MOE_MODEL, tmp_path / "model.so", **options)
    assert error.value.status == 1
    assert error.value.diagnostics == [message]


def test_rejects_what_is_not_a_model():
    with pytest.raises(TypeError):
        moec.compile(42)
