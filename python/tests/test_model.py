"""moec.load: a compiled library's description and runs through its C ABI."""

import numpy as np
import pytest

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
