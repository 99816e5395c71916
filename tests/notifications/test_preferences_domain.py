"""A person's preferences decide which channels carry what, and when."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chassis.errors import ValidationFailed
from contracts.notifications import Channel, NotificationKind
from services.notifications.domain.preferences import Preferences, QuietHours

K = NotificationKind
PARIS = "Europe/Paris"


def test_someone_who_chose_nothing_hears_everything_in_app():
    chosen = Preferences()
    for kind in K:
        assert chosen.channels_for(kind) == [Channel.IN_APP]  # no address: no email


def test_a_chat_channel_is_used_only_once_connected():
    chosen = Preferences(channels=frozenset({Channel.SLACK, Channel.TEAMS}))
    assert chosen.channels_for(K.EARLY_WARNING) == [Channel.IN_APP]
    chosen = Preferences(
        channels=frozenset({Channel.SLACK, Channel.TEAMS}),
        teams_webhook="https://x.webhook.office.com/y",
    )
    assert chosen.channels_for(K.EARLY_WARNING) == [Channel.IN_APP, Channel.TEAMS]


def test_email_is_used_only_with_an_address():
    chosen = Preferences(email="a@acme.example")
    assert chosen.channels_for(K.EARLY_WARNING) == [Channel.IN_APP, Channel.EMAIL]


def test_unsubscribed_hears_only_what_the_programme_requires():
    chosen = Preferences(
        unsubscribed=True,
        channels=frozenset({Channel.SLACK}),
        slack_webhook="https://hooks.slack.com/x",
    )
    assert chosen.channels_for(K.EARLY_WARNING) == []
    assert chosen.channels_for(K.SESSION_SCHEDULED) == []
    assert chosen.channels_for(K.PAIRING_PROPOSED) == [Channel.IN_APP, Channel.SLACK]
    assert chosen.receives(K.PAIRING_CONFIRMED)


def test_quiet_hours_hold_a_message_until_they_end_in_the_persons_zone():
    chosen = Preferences(quiet_hours=QuietHours(time(22), time(7)), time_zone=PARIS)
    # 23:30 in Paris (winter, UTC+1) → 07:00 Paris the next morning = 06:00 UTC
    late = datetime(2031, 1, 10, 22, 30, tzinfo=UTC)
    assert chosen.deliver_at(late, K.EARLY_WARNING) == datetime(
        2031, 1, 11, 6, 0, tzinfo=UTC
    )
    # 05:00 Paris: still quiet, until 07:00 the same day
    early = datetime(2031, 1, 11, 4, 0, tzinfo=UTC)
    assert chosen.deliver_at(early, K.EARLY_WARNING) == datetime(
        2031, 1, 11, 6, 0, tzinfo=UTC
    )
    # noon: at once
    noon = datetime(2031, 1, 11, 11, 0, tzinfo=UTC)
    assert chosen.deliver_at(noon, K.EARLY_WARNING) == noon


def test_the_digest_gathers_all_but_what_is_required_at_eight_local():
    chosen = Preferences(daily_digest=True, time_zone=PARIS)
    at = datetime(2031, 7, 1, 12, 0, tzinfo=UTC)  # 14:00 Paris (summer, UTC+2)
    assert chosen.deliver_at(at, K.EARLY_WARNING) == datetime(
        2031, 7, 2, 6, 0, tzinfo=UTC
    )
    assert chosen.deliver_at(at, K.PAIRING_PROPOSED) == at


def test_bad_choices_are_refused():
    with pytest.raises(ValidationFailed):
        QuietHours(time(8), time(8))
    with pytest.raises(ValidationFailed):
        Preferences(locale="xx")


def test_an_unknown_zone_reads_as_utc():
    chosen = Preferences(quiet_hours=QuietHours(time(0), time(6)), time_zone="Mars/X")
    at = datetime(2031, 1, 1, 1, 0, tzinfo=UTC)
    assert chosen.deliver_at(at, K.EARLY_WARNING) == datetime(
        2031, 1, 1, 6, 0, tzinfo=UTC
    )


minutes = st.integers(0, 24 * 60 - 1).map(lambda m: time(m // 60, m % 60))


@given(
    start=minutes,
    end=minutes,
    at=st.datetimes(
        min_value=datetime(2000, 1, 1),
        max_value=datetime(2100, 1, 1),
        timezones=st.just(UTC),
    ),
    zone=st.sampled_from(["UTC", PARIS, "America/New_York", "Asia/Kolkata"]),
)
def test_a_held_message_goes_out_outside_the_quiet_hours_within_a_day(
    start, end, at, zone
):
    if start == end:
        return
    quiet = QuietHours(start, end)
    chosen = Preferences(quiet_hours=quiet, time_zone=zone)
    out = chosen.deliver_at(at, K.EARLY_WARNING)
    assert out >= at  # never earlier than asked
    assert (out - at).total_seconds() <= 24 * 3600 + 3600  # a DST day is 25 h
    assert not quiet.contains(out.astimezone(ZoneInfo(zone)).time())
