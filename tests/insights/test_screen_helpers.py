"""The helpers the consumer's hot path leans on give what their plain definitions
give (issue 19: rewritten for CPU): every string an event carries, which the erasure
screen keys, and the check-ins held by a day, which health counts."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.insights.domain.erasure import strings_in
from services.insights.domain.health import _day_of_text, _held_by

pytestmark = pytest.mark.unit

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=6),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)


def every_string(value: object) -> set[str]:
    """The plain definition: keys and values, at any depth."""
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        out: set[str] = set()
        for k, v in value.items():
            out |= {str(k)} | every_string(v)
        return out
    if isinstance(value, list):
        return set().union(*(every_string(v) for v in value)) if value else set()
    return set()


@settings(max_examples=300, deadline=None)
@given(JSON)
def test_strings_in_is_every_string_of_the_value(value):
    found = strings_in(value)
    assert found == every_string(value)
    found.add("\x00mine")  # a new set each time: the caller may change it
    assert "\x00mine" not in strings_in(value)


DAYS = st.dates(min_value=date(2025, 12, 25), max_value=date(2026, 1, 5))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        DAYS.map(date.isoformat)
        | DAYS.map(lambda d: f"{d.isoformat()}T23:30:00-02:00"),
        max_size=12,
    ),
    DAYS,
)
def test_held_by_keeps_the_check_ins_of_that_day_and_before_in_order(check_ins, day):
    held = _held_by(check_ins, day)
    assert held == [c for c in check_ins if _day_of_text(c) <= day]
    assert held is not check_ins
