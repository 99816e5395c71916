"""Agreements and engagements, given events → when command → then events."""

from __future__ import annotations

from datetime import date

import pytest

from chassis.errors import Conflict, ValidationFailed
from contracts.advisors.agreements import (
    AgreementEndingSoon,
    AgreementRenewed,
    AgreementSigned,
    Compensation,
    EngagementTopic,
    HoursKind,
    HoursLogged,
    ScopeCategory,
)
from services.advisors.domain.agreement import (
    Agreement,
    AgreementNotActive,
    HoursOverCap,
    hours,
)
from services.advisors.domain.engagement import Engagement

PAID = Compensation(rate_minor_units=20_000, currency="EUR", cap_minor_units=100_000)


def signing(pay: Compensation = PAID, hours_per_month: int = 4) -> AgreementSigned:
    return AgreementSigned(
        agreement_id="ag-1",
        advisor_id="adv-1",
        starts_on=date(2026, 1, 1),
        ends_on=date(2026, 12, 31),
        scope=ScopeCategory.MENTORING,
        hours_per_month=hours_per_month,
        compensation=pay,
    )


def signed(pay: Compensation = PAID, hours_per_month: int = 4) -> Agreement:
    """Given an agreement signed for 2026 (rebuilt from its stored event)."""
    return Agreement.rebuild("ag-1", "acme", [signing(pay, hours_per_month)])


def logged(minutes: int, on: date, cost: int = 0) -> HoursLogged:
    return HoursLogged(
        agreement_id="ag-1",
        advisor_id="adv-1",
        minutes=minutes,
        on=on,
        kind=HoursKind.MENTORING,
        cost_minor_units=cost,
    )


def test_hours_beyond_the_monthly_commitment_are_refused() -> None:
    agreement = Agreement.rebuild(
        "ag-1", "acme", [signing(), logged(180, date(2026, 3, 2), 60_000)]
    )

    with pytest.raises(HoursOverCap) as refused:
        agreement.log_hours(90, date(2026, 3, 20), HoursKind.MENTORING)

    assert refused.value.extra["remaining_minutes"] == 60
    assert "1 h left" in refused.value.detail
    assert agreement.pending_events == []
    agreement.log_hours(90, date(2026, 4, 1), HoursKind.MENTORING)  # a new month
    assert [e.minutes for e in agreement.pending_events] == [90]


def test_cost_beyond_the_cap_is_refused_with_what_is_left() -> None:
    agreement = signed(hours_per_month=100)
    agreement.log_hours(240, date(2026, 2, 1), HoursKind.COUNCIL)  # 80 000
    agreement.collect_pending()

    with pytest.raises(HoursOverCap) as refused:
        agreement.log_hours(120, date(2026, 2, 2), HoursKind.COUNCIL)  # 40 000

    assert refused.value.extra["remaining_minor_units"] == 20_000
    assert "20000 EUR minor units left" in refused.value.detail
    assert agreement.pending_events == []
    agreement.log_hours(60, date(2026, 2, 2), HoursKind.COUNCIL)
    assert agreement.usage(date(2026, 2, 10)).remaining_minor_units == 0


def test_pro_bono_has_no_cost_cap_but_keeps_the_hours_commitment() -> None:
    agreement = signed(Compensation(pro_bono=True), hours_per_month=10)

    agreement.log_hours(600, date(2026, 5, 3), HoursKind.SESSION)

    event = agreement.pending_events[0]
    assert isinstance(event, HoursLogged) and event.cost_minor_units == 0
    with pytest.raises(HoursOverCap):
        agreement.log_hours(1, date(2026, 5, 4), HoursKind.SESSION)
    used = agreement.usage(date(2026, 5, 31))
    assert (used.hours_this_month, used.total_hours) == ("10", "10")  # not "1E+1"


def test_cap_in_hours_counts_across_months() -> None:
    pay = Compensation(rate_minor_units=0, currency="USD", cap_hours=5)
    agreement = signed(pay, hours_per_month=4)
    agreement.log_hours(240, date(2026, 1, 5), HoursKind.MENTORING)

    with pytest.raises(HoursOverCap) as refused:
        agreement.log_hours(120, date(2026, 2, 5), HoursKind.MENTORING)
    assert refused.value.extra["remaining_minutes"] == 60


def test_ending_soon_is_raised_once_per_term_and_renewal_moves_the_end() -> None:
    agreement = signed()

    agreement.check_term(date(2026, 11, 1))  # 60 days out: nothing yet
    agreement.check_term(date(2026, 12, 5))
    agreement.check_term(date(2026, 12, 6))

    assert [type(e) for e in agreement.pending_events] == [AgreementEndingSoon]
    assert agreement.pending_events[0].days_left == 26
    agreement.renew(date(2027, 6, 30))
    assert agreement.ends_on == date(2027, 6, 30)
    assert isinstance(agreement.pending_events[-1], AgreementRenewed)
    agreement.check_term(date(2027, 6, 1))  # a new term warns again
    assert isinstance(agreement.pending_events[-1], AgreementEndingSoon)
    agreement.log_hours(60, date(2027, 3, 1), HoursKind.MENTORING)  # in the new term


def test_term_past_ends_the_agreement_and_no_more_hours_are_taken() -> None:
    agreement = signed()
    agreement.check_term(date(2027, 1, 1))

    assert agreement.status == "ended"
    with pytest.raises(AgreementNotActive):
        agreement.log_hours(30, date(2027, 1, 2), HoursKind.MENTORING)


def test_terms_are_validated() -> None:
    with pytest.raises(ValidationFailed) as bad:
        Agreement.sign(
            "ag-2",
            "acme",
            advisor_id="adv-1",
            starts_on=date(2026, 6, 1),
            ends_on=date(2026, 5, 1),
            scope=ScopeCategory.MIXED,
            hours_per_month=4,
            compensation=Compensation(
                rate_minor_units=100, currency="EURO", cap_minor_units=1
            ),
        )
    assert {e.path for e in bad.value.errors} == {"ends_on", "compensation.currency"}


def test_delivered_engagement_logs_its_hours_once() -> None:
    agreement = signed()
    engagement = Engagement.schedule(
        "en-1",
        "acme",
        advisor_id="adv-1",
        topic=EngagementTopic.STRATEGIC_RISK,
        on=date(2026, 3, 3),
        audience_size=12,
    )

    engagement.deliver(agreement, 90, date(2026, 3, 3))

    hours = agreement.pending_events[0]
    assert isinstance(hours, HoursLogged)
    assert (hours.kind, hours.engagement_id, hours.cost_minor_units) == (
        HoursKind.SESSION,
        "en-1",
        30_000,
    )
    with pytest.raises(Conflict):
        engagement.deliver(agreement, 90, date(2026, 3, 3))


def test_a_termination_is_dated_within_the_term_and_after_the_hours_logged() -> None:
    agreement = Agreement.rebuild(
        "ag-1", "acme", [signing(), logged(60, date(2026, 5, 10), 20_000)]
    )
    for too_early in (date(2025, 12, 31), date(2026, 5, 9)):
        with pytest.raises(ValidationFailed) as refused:
            agreement.terminate(too_early, "budget")
        assert refused.value.errors[0].path == "on"
    assert agreement.pending_events == []
    agreement.terminate(date(2026, 5, 10), "budget")
    assert agreement.pending_events[0].on == date(2026, 5, 10)


def test_hours_read_as_plain_decimals() -> None:
    assert [hours(m) for m in (0, 30, 90, 600, 6_000, 61)] == [
        "0",
        "0.5",
        "1.5",
        "10",
        "100",
        "1.02",
    ]
