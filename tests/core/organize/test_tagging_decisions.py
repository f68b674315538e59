"""When zero-shot tagging tags and when it abstains, against probabilities worked out by hand.

The class vectors are the axes e_0, e_1, ... of a small space, so a photo's cosine with
class i is its i-th coordinate, and the logit CLIP would see is SCALE * x_i. Each test
photo is built from the weights w_i it should give (x_i = ln(w_i) / SCALE, so that
e^logit_i = w_i; a spare last axis keeps it a unit vector). Then:

- single-label: p_i = w_i / (sum of the weights of every label and fallback entry);
- multi-label:  p_i = w_i / (w_i + sum of the fallback entries' weights);

which is plain fraction arithmetic, written out next to every expected number.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from photoclip.core.organize.labelsets import parse_label_set
from photoclip.core.organize.tagging import Classifier, build_classifier, decide, label_probabilities

SCALE = 10.0  # the classifier's logit scale (CLIP's learned one is about 100)
DIM = 8  # up to 7 class vectors, and the spare axis
AXES = np.eye(DIM, dtype=np.float32)
TOL = 1e-5  # float32 vectors


def _set(labels: str, *, fallback: str = "", threshold: float = 0.5, margin: float = 0.1,
         multi: bool = False):
    text = (f'name = "test"\nlabels = [{labels}]\nthreshold = {threshold}\nmargin = {margin}\n'
            f"multi_label = {str(multi).lower()}\n")
    return parse_label_set(text + (f"fallback = [{fallback}]\n" if fallback else ""))


def _classifier(label_set, scale: float = SCALE) -> Classifier:
    """Labels on the first axes, the fallback entries on the next ones."""
    count, rivals = len(label_set.labels), len(label_set.competitors)
    return Classifier(label_set, "test:axes", AXES[:count], AXES[count:count + rivals], scale)


def _photos(*weights: tuple[float, ...]) -> np.ndarray:
    """Unit image vectors whose logits against the axes are ln(w) for the given weights."""
    rows = []
    for row in weights:
        x = np.zeros(DIM)
        x[: len(row)] = [math.log(w) / SCALE for w in row]
        assert float(x @ x) < 1
        x[-1] = math.sqrt(1 - float(x @ x))
        rows.append(x)
    return np.array(rows, dtype=np.float32).reshape(-1, DIM)


def _decide(label_set, *weights: tuple[float, ...], scale: float = SCALE):
    return decide(_classifier(label_set, scale), _photos(*weights))


def _ok(probability: float):
    return pytest.approx(probability, abs=TOL)


# --- single-label ------------------------------------------------------------------------

def test_the_probabilities_are_a_softmax_of_the_scaled_cosines() -> None:
    three = _set('"a", "b", "c"')
    # weights 6, 3, 1 of 10: p = 0.6, 0.3, 0.1
    got = label_probabilities(_classifier(three), _photos((6, 3, 1)))
    assert got.tolist() == [[_ok(0.6), _ok(0.3), _ok(0.1)]]
    # The same photo under twice the logit scale: e^(2 ln w) = w², so 36, 9, 1 of 46.
    got = label_probabilities(_classifier(three, 2 * SCALE), _photos((6, 3, 1)))
    assert got.tolist() == [[_ok(36 / 46), _ok(9 / 46), _ok(1 / 46)]]  # 0.7826, 0.1957, 0.0217


def test_the_best_label_is_applied_only_from_its_threshold() -> None:
    photo = (6, 3, 1)  # p(a) = 6/10 = 0.6, lead over b = 0.6 - 0.3 = 0.3
    assert _decide(_set('"a", "b", "c"', threshold=0.59, margin=0.0), photo) == [[("a", _ok(0.6))]]
    assert _decide(_set('"a", "b", "c"', threshold=0.61, margin=0.0), photo) == [[]]
    # Every label clearing the threshold still gives one tag: the best.
    assert _decide(_set('"a", "b", "c"', threshold=0.0, margin=0.0), photo) == [[("a", _ok(0.6))]]


def test_the_threshold_is_the_probability_so_the_logit_scale_decides_too() -> None:
    at_70 = _set('"a", "b", "c"', threshold=0.7, margin=0.0)
    assert _decide(at_70, (6, 3, 1)) == [[]]  # 0.6 < 0.7
    assert _decide(at_70, (6, 3, 1), scale=2 * SCALE) == [[("a", _ok(36 / 46))]]  # 0.7826


def test_the_best_label_must_lead_the_runner_up_by_the_margin() -> None:
    photos = ((6, 3, 1),  # 0.6 - 0.3 = 0.3 ahead
              (1, 5, 4))  # b: 0.5 - 0.4 = 0.1 ahead of c
    assert _decide(_set('"a", "b", "c"', threshold=0.0, margin=0.29), *photos) == [
        [("a", _ok(0.6))], []]
    assert _decide(_set('"a", "b", "c"', threshold=0.0, margin=0.31), *photos) == [[], []]
    assert _decide(_set('"a", "b", "c"', threshold=0.0, margin=0.09), *photos) == [
        [("a", _ok(0.6))], [("b", _ok(0.5))]]
    assert _decide(_set('"a", "b", "c"', threshold=0.0, margin=0.11), *photos) == [
        [("a", _ok(0.6))], []]


def test_a_label_of_its_own_threshold_is_held_to_it_and_not_to_the_sets() -> None:
    strict_a = _set('{name = "a", threshold = 0.61}, "b", "c"', threshold=0.1, margin=0.0)
    # a at 6/10 = 0.6 misses its own 0.61; b at 0.6 clears the set's 0.1.
    assert _decide(strict_a, (6, 3, 1), (3, 6, 1)) == [[], [("b", _ok(0.6))]]
    lenient_a = _set('{name = "a", threshold = 0.59}, "b", "c"', threshold=0.9, margin=0.0)
    assert _decide(lenient_a, (6, 3, 1), (3, 6, 1)) == [[("a", _ok(0.6))], []]


def test_the_defaults_are_a_half_and_a_tenth() -> None:
    pets = _set('"cat", "dog"', fallback='"something else"')  # threshold 0.5, margin 0.1
    assert (pets.threshold, pets.margin) == (0.5, 0.1)
    assert _decide(pets,
                   (52, 24, 24),  # 0.52, 0.28 ahead: tagged
                   (45, 30, 25),  # 0.45: under the threshold
                   (54, 46, 1),   # 54/101 = 0.5347, but 46/101 = 0.4554: only 8/101 = 0.079 ahead
                   (56, 43, 1),   # 56/100 = 0.56, 0.13 ahead: tagged
                   ) == [[("cat", _ok(0.52))], [], [], [("cat", _ok(0.56))]]


def test_a_photo_closest_to_the_fallback_stays_untagged() -> None:
    # However low the bars: "none of these" is the best answer, so none is applied.
    open_set = _set('"a", "b"', fallback='"other"', threshold=0.0, margin=0.0)
    assert _decide(open_set, (3, 1, 6)) == [[]]  # a 0.3, b 0.1, other 0.6
    assert label_probabilities(_classifier(open_set), _photos((3, 1, 6))).tolist() == [
        [_ok(0.3), _ok(0.1)]]  # the labels' columns only


def test_the_fallback_takes_its_share_and_counts_as_the_runner_up() -> None:
    photo = (6, 1, 3)  # a 6/10 = 0.6, b 0.1, other 0.3: the runner-up is the fallback
    closed = _set('"a", "b"', threshold=0.8, margin=0.0)
    assert _decide(closed, photo[:2]) == [[("a", _ok(6 / 7))]]  # without it: 0.857
    assert _decide(_set('"a", "b"', fallback='"other"', threshold=0.8, margin=0.0), photo) == [[]]
    assert _decide(_set('"a", "b"', fallback='"other"', threshold=0.59, margin=0.29), photo) == [
        [("a", _ok(0.6))]]  # 0.6 - 0.3 = 0.3 ahead of the fallback
    assert _decide(_set('"a", "b"', fallback='"other"', threshold=0.59, margin=0.31), photo) == [[]]
    # Two fallback entries share their weight between them: 6 of 6+1+2+1 = 0.6, lead 0.6-0.2.
    two = _set('"a", "b"', fallback='"other", "nothing"', threshold=0.59, margin=0.39)
    assert _decide(two, (6, 1, 2, 1)) == [[("a", _ok(0.6))]]


# --- multi-label -------------------------------------------------------------------------

def test_multi_label_tags_exactly_the_labels_over_their_threshold() -> None:
    labels, fallback = '"a", "b", "c", "d"', '"other", "nothing"'
    # The fallback weighs 1 + 1 = 2 against each label on its own:
    # a 6/(6+2) = 0.75, b 3/(3+2) = 0.6, c 1/(1+2) = 0.3333, d 0.5/(0.5+2) = 0.2.
    photo = (6, 3, 1, 0.5, 1, 1)
    got = label_probabilities(_classifier(_set(labels, fallback=fallback, multi=True)), _photos(photo))
    assert got.tolist() == [[_ok(0.75), _ok(0.6), _ok(1 / 3), _ok(0.2)]]
    assert _decide(_set(labels, fallback=fallback, multi=True, threshold=0.59), photo) == [
        [("a", _ok(0.75)), ("b", _ok(0.6))]]
    assert _decide(_set(labels, fallback=fallback, multi=True, threshold=0.61), photo) == [
        [("a", _ok(0.75))]]
    assert _decide(_set(labels, fallback=fallback, multi=True, threshold=0.76), photo) == [[]]
    assert _decide(_set(labels, fallback=fallback, multi=True, threshold=0.19), photo) == [
        [("a", _ok(0.75)), ("b", _ok(0.6)), ("c", _ok(1 / 3)), ("d", _ok(0.2))]]


def test_multi_label_thresholds_of_their_own_and_no_margin() -> None:
    own = ('{name = "a", threshold = 0.76}, {name = "b", threshold = 0.59}, '
           '{name = "c", threshold = 0.33}, {name = "d", threshold = 0.21}')
    photo = (6, 3, 1, 0.5, 1, 1)  # 0.75, 0.6, 0.3333, 0.2 as above
    # a misses 0.76, b and c clear theirs, d misses 0.21; b and c are 0.27 apart, and
    # the margin (set high here) is for single-label sets only.
    assert _decide(_set(own, fallback='"other", "nothing"', multi=True, threshold=0.0, margin=0.9),
                   photo) == [[("b", _ok(0.6)), ("c", _ok(1 / 3))]]


def test_multi_label_labels_do_not_compete_with_each_other() -> None:
    both = _set('"a", "b"', fallback='"other"', multi=True, threshold=0.7)
    # a 6/(6+1) = 0.857 and b 12/(12+1) = 0.923: both applied, though together over 1;
    # a single-label set would give a 6/19 = 0.316 here.
    assert _decide(both, (6, 12, 1)) == [[("a", _ok(6 / 7)), ("b", _ok(12 / 13))]]
    # Raising b changes nothing for a: still 6/7.
    assert _decide(both, (6, 60, 1)) == [[("a", _ok(6 / 7)), ("b", _ok(60 / 61))]]
    single = _set('"a", "b"', fallback='"other"', threshold=0.3, margin=0.0)
    assert _decide(single, (12, 6, 1)) == [[("a", _ok(12 / 19))]]  # 0.632: one tag only


def test_multi_label_photo_closest_to_the_fallback_gets_no_tag() -> None:
    weak = _set('"a", "b"', fallback='"other", "nothing"', multi=True, threshold=0.5)
    # The fallback weighs 6 + 3 = 9: a 1/(1+9) = 0.1, b 3/(3+9) = 0.25.
    assert _decide(weak, (1, 3, 6, 3)) == [[]]


class _AxisEncoder:
    """Each prompt to its own axis (prompts listed in ``axes``), anything else to the spare."""

    model_id = "test:axis-encoder"
    dim = DIM
    logit_scale = SCALE

    def __init__(self, axes: list[str]) -> None:
        self._axes = axes

    def load(self) -> _AxisEncoder:
        return self

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        return np.stack([AXES[self._axes.index(t) if t in self._axes else DIM - 1] for t in texts])


def test_a_multi_label_set_without_a_fallback_is_decided_against_something() -> None:
    tags = _set('"a", "b"', multi=True, threshold=0.5)
    encoder = _AxisEncoder(["a photo of a.", "a photo of b.", "a photo of something."])
    classifier = build_classifier(tags, encoder)
    assert classifier.logit_scale == SCALE
    assert classifier.competitors.tolist() == [AXES[2].tolist()]  # "something", not nothing
    # a 6/(6+4) = 0.6, b 3/(3+4) = 0.4286: only a.
    assert decide(classifier, _photos((6, 3, 4))) == [[("a", _ok(0.6))]]
    assert decide(classifier, _photos()) == []
