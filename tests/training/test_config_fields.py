"""TrainConfig is the one place that judges settings: the per-field checks the form calls as a
person types agree with the whole check the command line, model files and training use."""

from __future__ import annotations

import pytest

from digitlab.training import TrainConfig
from digitlab.training.config import FIELD_RULES, field_problems, parse_layer_sizes, setting_from_text


def _edges(rule) -> list[str]:
    """Texts on and just past each limit of a rule."""
    low, high = rule.low, rule.high
    if rule.kind is int:
        texts = [str(low - 1), str(low), str(low + 1)]
        if high is not None:
            texts += [str(high - 1), str(high), str(high + 1)]
        return texts
    texts = [f"{low - 0.5:g}", f"{low:g}", f"{low + 1e-6:g}"]
    if high is not None:
        texts += [f"{high:g}", f"{high * 1.001:g}"]
    return texts


@pytest.mark.parametrize("name", list(FIELD_RULES))
def test_the_typed_check_and_the_whole_check_agree_on_every_limit(name):
    rule = FIELD_RULES[name]
    for text in _edges(rule):
        value = rule.kind(float(text)) if rule.kind is int else float(text)
        whole = field_problems(name, value)
        assert TrainConfig(**{name: value}).problems() == whole
        try:
            setting_from_text(name, text)
            typed_ok = True
        except ValueError:
            typed_ok = False
        past_high = rule.high is not None and value > rule.high
        if past_high and not rule.high_as_typed:
            # a limit against typos: the text is a fine number, the whole check refuses it
            assert typed_ok and whole == [f"{name} must be at most {rule.high:g}, got {value:g}"]
        else:
            assert typed_ok == (whole == []), (name, text, whole)


@pytest.mark.parametrize("name, text, message", [
    ("seed", "2147483648", "seed must be <= 2147483647, got 2147483648"),
    ("seed", "-1", "seed must be >= 0, got -1"),
    ("momentum", "0.99999", "momentum must be <= 0.9999, got 0.99999"),
    ("batch_size", "60001", "batch size must be <= 60000, got 60001"),
    ("l2", "-", "L2 lambda must be a number, got '-'"),
    ("learning_rate", "0", "learning rate must be > 0, got 0"),
    ("learning_rate", " ", "learning rate is empty"),
    ("learning_rate", "inf", "learning rate must be finite, got inf"),
    ("eval_every", "0", "validation interval must be >= 1, got 0"),
    ("patience", "1.5", "patience must be a whole number, got '1.5'"),
    ("tol", "-0.1", "tolerance must be >= 0, got -0.1"),
    ("max_epochs", "100001", "max epochs must be <= 100000, got 100001"),
    ("n_validation", "59001", "validation size must be <= 59000, got 59001"),
    ("train_subset", "12.5", "training subset must be a whole number, got '12.5'"),
    ("augment_fraction", "1.5", "augmented share must be <= 1, got 1.5"),
    ("augment_fraction", "0", "augmented share must be > 0, got 0"),
])
def test_a_typed_value_is_refused_in_words(name, text, message):
    with pytest.raises(ValueError) as caught:
        TrainConfig.setting_from_text(name, text)
    assert str(caught.value) == message


def test_typed_values_become_numbers():
    assert TrainConfig.setting_from_text("batch_size", " 64 ") == 64
    assert TrainConfig.setting_from_text("l2", "0") == 0.0
    assert TrainConfig.setting_from_text("learning_rate", "1e-3") == 0.001
    assert TrainConfig.setting_from_text("learning_rate", "50") == 50.0     # the whole check refuses it
    for empty in ("", "all", "None"):
        assert TrainConfig.setting_from_text("train_subset", empty) is None


@pytest.mark.parametrize("text, message", [
    ("784", "give at least an input and an output size, e.g. 784-20-7-5-10"),
    ("784-x-10", "'x' is not a whole number of units"),
    ("784-0-10", "every layer needs at least one unit, got 0"),
    ("783-10", "the input layer must have 784 units (28x28 pixels), got 783"),
    ("784-10001-10", "a hidden layer has at most 10000 units, got 10001"),
])
def test_layer_sizes_refused_in_words(text, message):
    with pytest.raises(ValueError) as caught:
        parse_layer_sizes(text)
    assert str(caught.value) == message


def test_layer_sizes_parsed():
    assert parse_layer_sizes("784-20-7-5-10") == (784, 20, 7, 5, 10)
    assert TrainConfig.parse_layer_sizes("784, 32 ,10") == (784, 32, 10)
