"""Evaluation and comparison of hand-set tiny networks on a hand-made set."""

import numpy as np
import pytest

from digitlab.nn import Network
from digitlab.reports.analysis import compare, evaluate, layer_histograms, misclassified
from digitlab.reports.metrics import confusion_matrix


def tiny_network(W):
    """A network without hidden layers: logits = x @ W (biases 0)."""
    net = Network((W.shape[0], W.shape[1]), dtype=np.float64)
    net.weights[0][...] = W
    net.biases[0][...] = 0
    return net


# three classes; the input is (a, b, c); the network predicts argmax of (a, b, c) scaled
X = np.array([
    [3, 0, 0],   # true 0 -> 0
    [0, 3, 0],   # true 1 -> 1
    [0, 0, 3],   # true 2 -> 2
    [2, 1, 0],   # true 1 -> 0 (mistake)
    [0, 4, 1],   # true 2 -> 1 (mistake, confident)
    [1, 0, 2],   # true 2 -> 2
    [0, 0, 1],   # true 0 -> 2 (mistake)
], dtype=float)
Y = np.array([0, 1, 2, 1, 2, 2, 0])


def test_confusion_of_a_known_tiny_model():
    ev = evaluate(tiny_network(np.eye(3)), X, Y, name="eye")
    expected = np.array([
        [1, 0, 1],
        [1, 1, 0],
        [0, 1, 2],
    ])
    np.testing.assert_array_equal(ev.cm, expected)
    np.testing.assert_array_equal(ev.cm, confusion_matrix(Y, ev.pred, 3))
    assert ev.accuracy == pytest.approx(4 / 7)
    # per-class: recall = diag / row sum, precision = diag / column sum
    np.testing.assert_allclose(ev.scores["recall"], [1 / 2, 1 / 2, 2 / 3])
    np.testing.assert_allclose(ev.scores["precision"], [1 / 2, 1 / 2, 2 / 3])
    # the cross-entropy by hand from softmax(x)
    p = np.exp(X) / np.exp(X).sum(axis=1, keepdims=True)
    assert ev.cross_entropy == pytest.approx(-np.mean(np.log(p[np.arange(7), Y])))
    assert ev.cost == pytest.approx(ev.cross_entropy)
    ce, acc = tiny_network(np.eye(3)).cost_and_accuracy(X, Y)
    assert ev.cross_entropy == pytest.approx(ce) and ev.accuracy == pytest.approx(acc)


def test_cost_includes_l2_term_like_the_network():
    net = tiny_network(np.eye(3) * 2)
    ev = evaluate(net, X, Y, l2=5.0, m=4)
    assert ev.cost == pytest.approx(net.cost(X, Y, 5.0, m=4))
    assert ev.cost == pytest.approx(ev.cross_entropy + 5.0 / 8 * 12.0)


def test_most_confident_mistakes_first():
    ev = evaluate(tiny_network(np.eye(3)), X, Y)
    order = ev.misclassified()
    # confidences: row 4 softmax(0,4,1) max ~0.94, row 3 softmax(2,1,0) ~0.67, row 6 softmax(0,0,1) ~0.58
    assert order.tolist() == [4, 3, 6]
    assert ev.misclassified(limit=1).tolist() == [4]
    # ties keep the lower index first
    proba = np.array([[0.2, 0.8], [0.2, 0.8], [0.9, 0.1]])
    assert misclassified(proba, np.array([0, 0, 0])).tolist() == [0, 1]


def test_compare_two_models():
    a = evaluate(tiny_network(np.eye(3)), X, Y, name="a")
    # b swaps the roles of classes 0 and 1 in its output: right on row 3, wrong on rows 0 and 1
    W = np.eye(3)[:, [1, 0, 2]]
    b = evaluate(tiny_network(W), X, Y, name="b")
    c = compare(a, b)
    assert set(c.only_a.tolist()) == {0, 1}
    assert c.only_b.tolist() == [3]
    assert set(c.both_wrong.tolist()) == {4, 6}
    np.testing.assert_array_equal(c.cm_diff, b.cm - a.cm)
    np.testing.assert_allclose(c.recall_diff, b.scores["recall"] - a.scores["recall"])
    rows = c.rows()
    assert len(rows) == 3 and rows[1]["Recall difference"] == pytest.approx(c.recall_diff[1])
    with pytest.raises(ValueError):
        compare(a, evaluate(tiny_network(np.eye(3)), X[:3], Y[:3]))


def test_layer_histograms_count_every_weight():
    n1 = Network((60, 4, 3), seed=1)
    n2 = Network((60, 4, 3), seed=2)
    hist = layer_histograms([n1, n2], bins=10, quantile=1.0)
    assert len(hist) == 2
    edges, counts = hist[0]
    assert len(edges) == 11 and [c.sum() for c in counts] == [240, 240]
    assert edges[0] == pytest.approx(-edges[-1])
    edges, counts = hist[1]                     # 12 weights: fewer bins, every weight still counted
    assert len(edges) == 9 and [c.sum() for c in counts] == [12, 12]
