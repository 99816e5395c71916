"""Pins a coordinator fixes before a round: every bad one refused at once, typed."""

from __future__ import annotations

import pytest

from services.matching.domain.config import MatchingConfig
from services.matching.domain.encoding import encode
from services.matching.domain.rules import (
    CapacityExceeded,
    PinsRefused,
    pin_refusals,
    refuse_pins,
)
from tests.matching.test_scoring import mentee, mentor


def cohort():
    mentees = [mentee("ada"), mentee("bob"), mentee("cy", manager_id="boss")]
    mentors = [
        mentor("one", capacity=1),
        mentor("none", capacity=0),
        mentor("boss", capacity=2),
    ]
    return encode(mentees, mentors, MatchingConfig())


def test_every_bad_pin_is_listed_with_all_its_reasons():
    refused = pin_refusals(
        cohort(),
        [
            ("ada", "one"),  # fine
            ("bob", "one"),  # one seat, two pins
            ("cy", "boss"),  # reporting line
            ("ada", "boss"),  # pinned twice
            ("zed", "ghost"),  # nobody of the round
            ("bob", "none"),  # no seat at all
        ],
        forbidden=[("cy", "one")],
    )
    assert [(r.mentee_id, r.mentor_id, r.reasons) for r in refused] == [
        ("bob", "one", ("the mentor has 1 seat(s) left, fewer than the pairs pinned to them",)),
        ("cy", "boss", ("the mentor is in the mentee's reporting line (above)",)),
        ("ada", "boss", ("the mentee is pinned to another mentor too",)),
        ("zed", "ghost", ("not a mentee of the cohort waiting for a mentor",
                          "not a mentor of the cohort with a mentor profile")),
        ("bob", "none", ("the mentee is pinned to another mentor too",
                         "the mentor has no seat left")),
    ]  # fmt: skip
    with pytest.raises(PinsRefused) as error:
        refuse_pins(refused)
    assert error.value.status == 422 and len(error.value.problem()["pins"]) == 5


def test_seats_alone_are_capacity_exceeded_and_good_pins_pass():
    enc = cohort()
    assert pin_refusals(enc, [("ada", "one"), ("bob", "boss"), ("ada", "one")]) == []
    refused = pin_refusals(enc, [("ada", "none"), ("bob", "one"), ("cy", "one")])
    with pytest.raises(CapacityExceeded) as error:
        refuse_pins(refused)
    assert [p["mentor_id"] for p in error.value.problem()["pins"]] == ["none", "one"]
