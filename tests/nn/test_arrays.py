"""The one walk over a network's arrays (nn/arrays.py, Network.arrays) and what is built from it."""

import numpy as np
import pytest

from digitlab.nn import Network
from digitlab.nn.arrays import KIND, affine_first, array_specs
from digitlab.nn.l2 import sum_of_squares

SIZES = (784, 20, 7, 5, 10)


def test_walk_without_batch_norm_is_w_and_b_layer_by_layer():
    specs = array_specs(SIZES, batch_norm=False)
    assert [s.name for s in specs] == ["W1", "b1", "W2", "b2", "W3", "b3", "W4", "b4"]
    assert [s.shape for s in specs[:4]] == [(784, 20), (20,), (20, 7), (7,)]
    assert all(s.array is None for s in specs)


def test_walk_with_batch_norm_adds_four_arrays_to_each_hidden_layer_only():
    specs = array_specs(SIZES, batch_norm=True)
    layer_1 = ["W1", "b1", "gamma1", "beta1", "running_mean1", "running_var1"]
    assert [s.name for s in specs[:6]] == layer_1
    assert [s.name for s in specs[-2:]] == ["W4", "b4"]          # the output layer: no batch norm
    assert len(specs) == 4 * 2 + 3 * 4
    assert {s.shape for s in specs if s.layer == 3 and s.kind != "W"} == {(5,)}
    assert [s.trainable for s in specs[:6]] == [True, True, True, True, False, False]


def test_network_arrays_are_the_networks_own_arrays_not_copies():
    net = Network(SIZES, batch_norm=True, seed=1)
    walk = {a.name: a for a in net.arrays()}
    assert [a.name for a in net.arrays()] == [s.name for s in array_specs(SIZES, True)]
    assert walk["W2"].array.shape == (20, 7) and np.shares_memory(walk["W2"].array, net.params)
    assert walk["running_var2"].array is net.running_vars[1]
    walk["gamma3"].array[0] = 7.5
    walk["running_mean1"].array[2] = -3.0
    assert net.gammas[2][0] == 7.5 and net.running_means[0][2] == -3.0


def test_flat_buffer_keeps_its_layout_every_w_and_b_then_batch_norm():
    net = Network(SIZES, batch_norm=True)
    names = [name for name, _ in net.parameters()]
    assert names == ["W1", "b1", "W2", "b2", "W3", "b3", "W4", "b4",
                     "gamma1", "beta1", "gamma2", "beta2", "gamma3", "beta3"]
    assert [a.name for a in affine_first(a for a in net.arrays() if a.trainable)] == names
    offset = 0
    for _, view in net.parameters():             # contiguous, in that order, covering the buffer
        assert np.shares_memory(view, net.params[offset:offset + view.size])
        offset += view.size
    assert offset == net.params.size
    assert [name for name, _ in net.buffers()] == ["running_mean1", "running_var1", "running_mean2",
                                                  "running_var2", "running_mean3", "running_var3"]


def test_l2_sum_and_mean_abs_weights_walk_the_weight_matrices_only():
    net = Network(SIZES, batch_norm=True, seed=4)
    net.betas[0][...] = 100.0              # not a weight: must not count
    assert net.l2_sum() == sum_of_squares(net.weights)
    assert net.l2_sum() == pytest.approx(sum(float(np.sum(W.astype(np.float64) ** 2)) for W in net.weights),
                                         rel=1e-5)
    assert net.mean_abs_weights() == [float(np.mean(np.abs(W))) for W in net.weights]


def test_descriptions_and_words_name_the_layer_and_its_size():
    walk = {s.name: s for s in array_specs(SIZES, batch_norm=True)}
    assert walk["W2"].description == ("weights of layer 2, 20 rows (inputs) x 7 columns (units); "
                                      "Z = A @ W2 + b2")
    assert walk["b4"].description == "biases of layer 4, 10 values, one per unit"
    assert walk["running_var3"].description == ("batch-norm running variance of hidden layer 3 (used "
                                                "at inference), 5 values")
    assert [walk[n].words for n in ("W1", "b1", "gamma1", "beta1", "running_mean1")] == [
        "weight W", "bias b", "scale gamma", "shift beta", "running_mean"]
    assert set(KIND) == {"W", "b", "gamma", "beta", "running_mean", "running_var"}
