"""nbval, with printed decimals compared to within one unit of their last digit.

Strict nbval compares every output text character by character. The numbers the
notebooks print are computed with BLAS, whose kernels differ from CPU to CPU
(AVX-512, AVX2, SSE3 ...) and sum in another order: the same notebook then
prints ``0.473`` on one laptop and ``0.472`` on the next. This plugin keeps
nbval strict about everything but that noise.

The rule (:func:`numbers_agree`): a text output of the run agrees with the
stored one when

- both have the same numbers in the same places, and the text around them
  (words, spaces, punctuation, line breaks) is identical;
- integers (``1024``, ``-3``, ``70``) are identical;
- numbers written with decimals (``0.473``, ``25.94``, ``-0.5``, ``1.25e-05``)
  differ by at most one unit in their last printed digit: ``0.473`` and
  ``0.472`` agree, ``0.473`` and ``0.475`` do not; ``25.94`` and ``25.95``
  agree. If the two are written with different numbers of decimals, the unit
  of the more precise one counts (``0.47`` and ``0.473`` do not agree).

A number is a run of digits with an optional sign, decimal point and exponent
that does not touch a letter, a digit or another decimal point: in ``float32``,
``3.11.7`` or ``r8`` there is no number, and such words are compared exactly.

Where a run's output agrees with the stored one, this plugin hands nbval the
stored text in its place, so nbval's own comparison (and its report of what
differs) decides everything else. It applies to stream output (stdout, stderr)
and to every text MIME type (``text/plain``, ``text/html``, ...). Images and
widget views are not compared (nbval skips them), and neither is the
``text/plain`` fallback of a widget view: it describes the controls, not a
result (``tests/test_project.py`` checks what it says).

``pytest --nbval-exact`` turns the tolerance off.
"""

from __future__ import annotations

import copy
import re
from collections import defaultdict
from decimal import Decimal

#: A number: optional sign, digits, optional decimals, optional exponent; not part of a word or a version string.
NUMBER = re.compile(r"(?<![\w.])[-+]?\d+(?:\.(?P<decimals>\d+))?(?:[eE](?P<exponent>[-+]?\d+))?(?!\w|\.\d)")
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def split_numbers(text: str) -> tuple[list[str], list[re.Match]]:
    """The text between the numbers (one more piece than numbers), and the numbers.

    >>> texts, numbers = split_numbers("PSNR 25.94 dB at K = 1024")
    >>> texts, [m.group() for m in numbers]
    (['PSNR ', ' dB at K = ', ''], ['25.94', '1024'])
    """
    texts, numbers, start = [], [], 0
    for match in NUMBER.finditer(text):
        texts.append(text[start : match.start()])
        numbers.append(match)
        start = match.end()
    texts.append(text[start:])
    return texts, numbers


def last_digit_unit(number: re.Match) -> Decimal | None:
    """One unit in the last printed digit of a number with decimals; None for an integer."""
    decimals = number.group("decimals")
    if decimals is None:
        return None
    exponent = int(number.group("exponent") or 0)
    return Decimal(1).scaleb(exponent - len(decimals))


def number_agrees(expected: re.Match, actual: re.Match) -> bool:
    """Integers: identical. Decimals: within one unit of the finer last printed digit."""
    if expected.group() == actual.group():
        return True
    units = [last_digit_unit(expected), last_digit_unit(actual)]
    if None in units:
        return False
    return abs(Decimal(expected.group()) - Decimal(actual.group())) <= min(units)


def numbers_agree(expected: str, actual: str) -> bool:
    """Whether two output texts differ at most by last-digit noise in their decimals.

    >>> numbers_agree("china (0.473)", "china (0.472)")
    True
    >>> numbers_agree("china (0.473)", "china (0.475)")
    False
    >>> numbers_agree("K = 1024", "K = 1023")
    False
    """
    if expected == actual:
        return True
    expected_texts, expected_numbers = split_numbers(expected)
    actual_texts, actual_numbers = split_numbers(actual)
    return (
        len(expected_numbers) == len(actual_numbers)
        and expected_texts == actual_texts
        and all(map(number_agrees, expected_numbers, actual_numbers))
    )


def _text_slots(outputs: list) -> dict[str, list[tuple[dict, str]]]:
    """The compared texts of a cell's outputs, grouped by key and in order, as nbval groups them."""
    slots = defaultdict(list)
    for output in outputs:
        if output.get("output_type") == "stream":
            slots[output["name"]].append((output, "text"))
        for mime in output.get("data", {}):
            slots[mime].append((output["data"], mime))
    return slots


def tolerate(test: list, ref: list) -> list:
    """A copy of the run's outputs ``test`` in which every text that agrees with its stored
    counterpart in ``ref`` (:func:`numbers_agree`) is replaced by the stored text, and so is
    the ``text/plain`` fallback of a widget view. nbval then compares the result exactly."""
    test = copy.deepcopy(test)
    test_slots, ref_slots = _text_slots(test), _text_slots(ref)
    for key, ref_values in ref_slots.items():
        test_values = test_slots.get(key, [])
        if len(test_values) != len(ref_values):
            continue  # nbval reports the different number of outputs
        for (test_holder, test_field), (ref_holder, ref_field) in zip(test_values, ref_values, strict=True):
            new, old = test_holder[test_field], ref_holder[ref_field]
            if not (isinstance(new, str) and isinstance(old, str)) or new == old:
                continue
            widget_fallback = key == "text/plain" and WIDGET_VIEW in test_holder and WIDGET_VIEW in ref_holder
            if widget_fallback or numbers_agree(old, new):
                test_holder[test_field] = old
    return test


def pytest_addoption(parser):
    parser.getgroup("nbval").addoption(
        "--nbval-exact",
        action="store_true",
        help="compare printed decimals exactly (default: to within one unit of their last digit)",
    )


def pytest_itemcollected(item):
    try:
        from nbval.plugin import IPyNbCell
    except ImportError:  # nbval is not installed: nothing to do
        return
    if not isinstance(item, IPyNbCell) or item.config.getoption("nbval_exact"):
        return
    exact_compare = item.compare_outputs

    def compare_outputs(test, ref, skip_compare=None):
        return exact_compare(tolerate(test, ref), ref, skip_compare)

    item.compare_outputs = compare_outputs
