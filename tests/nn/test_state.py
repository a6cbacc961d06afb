"""state_dict, load_state_dict, save and load: layout, exact round trips, clear failures."""

import copy
import os
import zipfile

import numpy as np
import pytest

import nn


def _snapshot(model):
    return [p.data for p in model.parameters()]


def test_layout_is_pytorch_shaped():
    model = nn.MLP(3, [4, 2], seed=0)
    state = model.state_dict()
    assert list(state) == ["layers.0.weight", "layers.0.bias", "layers.1.weight",
                           "layers.1.bias"]
    assert state["layers.0.weight"].shape == (4, 3)
    assert state["layers.0.bias"].shape == (4,)
    assert state["layers.1.weight"].shape == (2, 4)
    # Row i of a weight matrix is neuron i's weights.
    neuron = model.layers[0].neurons[2]
    assert state["layers.0.weight"][2].tolist() == [w.data for w in neuron.w]
    assert state["layers.0.bias"][2] == neuron.b.data


def test_every_parameter_is_in_the_state_once():
    model = nn.Sequential(nn.Highway(3, seed=0), nn.DenseBlock(3, 2, 2, seed=1),
                          nn.Layer(7, 1, seed=2))
    total = sum(array.size for array in model.state_dict().values())
    assert total == model.num_parameters()
    assert list(model.state_dict())[:4] == ["0.transform.weight", "0.transform.bias",
                                            "0.gate.weight", "0.gate.bias"]


def test_state_dict_is_a_copy():
    model = nn.Layer(2, 2, seed=0)
    state = model.state_dict()
    state["weight"][0, 0] = 123.0
    assert model.neurons[0].w[0].data != 123.0


def test_deepcopy_makes_an_independent_model_with_equal_outputs():
    model = nn.MLP(3, [4, 2], seed=0)
    twin = copy.deepcopy(model)
    assert _snapshot(twin) == _snapshot(model)
    assert not set(map(id, twin.parameters())) & set(map(id, model.parameters()))
    x = [0.5, -1.0, 2.0]
    assert [v.data for v in twin(x)] == [v.data for v in model(x)]
    twin.parameters()[0].data += 1.0
    assert twin.parameters()[0].data == model.parameters()[0].data + 1.0


def test_save_load_round_trips_exactly(tmp_path):
    source = nn.MLP(2, [16, 16, 1], seed=1)
    path = tmp_path / "model.npz"
    source.save(path)
    target = nn.MLP(2, [16, 16, 1], seed=2)
    assert _snapshot(target) != _snapshot(source)
    assert target.load(path) is target
    assert _snapshot(target) == _snapshot(source)  # bit for bit
    x = [0.3, -0.7]
    assert target(x)[0].data == source(x)[0].data


def test_load_state_dict_from_arrays():
    model = nn.Layer(2, 2, "linear", seed=0)
    model.load_state_dict({"weight": np.array([[1, 2], [3, 4]]), "bias": np.array([5, 6])})
    assert [v.data for v in model([1.0, 1.0])] == [8.0, 13.0]


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda s: s.pop("layers.1.bias"), "missing key 'layers.1.bias'"),
        (lambda s: s.update(extra=np.zeros(2)), "unexpected key 'extra'"),
        (lambda s: s.update({"layers.0.weight": np.zeros((2, 3))}),
         r"key 'layers.0.weight': expected shape \(3, 2\), got \(2, 3\)"),
        (lambda s: s.update({"layers.1.bias": np.array([np.nan])}),
         "key 'layers.1.bias': holds NaN"),
        (lambda s: s.update({"layers.0.bias": np.array(["a", "b", "c"])}),
         "key 'layers.0.bias': expected real numbers"),
    ],
)
def test_mismatched_state_names_the_key_and_changes_nothing(edit, message):
    model = nn.MLP(2, [3, 1], seed=0)
    before = _snapshot(model)
    state = {key: value + 1.0 for key, value in model.state_dict().items()}
    edit(state)
    with pytest.raises(ValueError, match=message):
        model.load_state_dict(state)
    assert _snapshot(model) == before


def test_mismatched_file_names_the_key_and_changes_nothing(tmp_path):
    path = tmp_path / "small.npz"
    nn.MLP(2, [3, 1], seed=0).save(path)
    model = nn.MLP(2, [4, 1], seed=1)
    before = _snapshot(model)
    with pytest.raises(ValueError, match=r"key 'layers.0.weight': expected shape \(4, 2\)"):
        model.load(path)
    assert _snapshot(model) == before


def test_corrupted_file_names_the_key_and_changes_nothing(tmp_path):
    path = tmp_path / "model.npz"
    nn.MLP(2, [3, 1], seed=0).save(path)
    # Overwrite the bytes of one stored array with garbage, keeping the zip readable.
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("layers.1.weight.npy")
        offset = info.header_offset + 30 + len(info.filename) + len(info.extra)
    with open(path, "r+b") as stream:
        stream.seek(offset)
        stream.write(b"\x00garbage!" * 4)
    model = nn.MLP(2, [3, 1], seed=1)
    before = _snapshot(model)
    with pytest.raises(ValueError, match="cannot read key 'layers.1.weight'"):
        model.load(path)
    assert _snapshot(model) == before


@pytest.mark.parametrize(
    "write",
    [
        lambda p: p.write_bytes(b"not a zip at all"),
        lambda p: np.save(p, np.zeros(3)),
        lambda p: np.savez(p, weight=np.zeros(3)),
        lambda p: p.write_bytes(b"PK\x03\x04truncated"),
    ],
)
def test_non_state_files_are_refused(tmp_path, write):
    path = tmp_path / "other.npz"
    write(path)
    if not path.exists():  # np.save/np.savez add their own suffix when missing
        path = next(tmp_path.iterdir())
    model = nn.Layer(3, 1, seed=0)
    before = _snapshot(model)
    with pytest.raises(ValueError, match="not a state file"):
        model.load(path)
    assert _snapshot(model) == before


def test_failed_save_leaves_the_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    old = nn.MLP(2, [3, 1], seed=0)
    old.save(path)
    original = path.read_bytes()

    def broken_savez(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        nn.MLP(2, [3, 1], seed=5).save(path)
    assert path.read_bytes() == original
    assert os.listdir(tmp_path) == ["model.npz"]  # no temporary file left behind


def test_models_save_and_load(tmp_path):
    model = nn.SoftmaxRegression(4, 3, init="uniform", seed=0)
    path = tmp_path / "softmax.npz"
    model.save(path)
    assert sorted(np.load(path).files) == ["__nn_state_format__", "linear.bias",
                                           "linear.weight"]
    copy = nn.SoftmaxRegression(4, 3).load(path)
    assert _snapshot(copy) == _snapshot(model)


def test_saved_file_gets_the_usual_permissions(tmp_path):
    path = tmp_path / "model.npz"
    nn.Layer(2, 1, seed=0).save(path)
    reference = tmp_path / "plain.bin"
    reference.write_bytes(b"")
    assert (path.stat().st_mode & 0o777) == (reference.stat().st_mode & 0o777)
