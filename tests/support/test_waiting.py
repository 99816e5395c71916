"""The one wait helper: a value once the condition holds, a clear failure otherwise."""

from __future__ import annotations

import itertools

import pytest

from tests.support.waiting import GaveUp, TimedOut, until, until_sync


async def test_until_returns_the_first_truthy_value_of_an_async_or_plain_check():
    calls = itertools.count()

    async def third() -> int | None:
        n = next(calls)
        return n if n >= 2 else None

    assert await until(third, "the third call", 5, interval_s=0) == 2
    assert await until(lambda: "now", "a plain check", 5) == "now"


async def test_until_names_what_it_waited_for_and_adds_the_detail():
    with pytest.raises(TimedOut, match=r"timed out waiting for nothing \(0.05s\)\n"):
        await until(lambda: False, "nothing", 0.05, detail=lambda: "last: 0")


async def test_until_gives_up_early_with_the_reason():
    polls = itertools.count()

    def died() -> str | None:
        return "it exited (1)" if next(polls) >= 1 else None

    with pytest.raises(GaveUp, match="gave up waiting for the process: it exited"):
        await until(lambda: False, "the process", 60, interval_s=0, give_up=died)


def test_until_sync_blocks_until_the_check_holds_or_fails():
    calls = itertools.count()
    assert until_sync(lambda: next(calls) == 3, "the fourth call", 5, interval_s=0)
    with pytest.raises(TimedOut, match="timed out waiting for never"):
        until_sync(lambda: 0, "never", 0.05)
    with pytest.raises(GaveUp, match="gone"):
        until_sync(lambda: 0, "never", 60, give_up=lambda: "gone")


def test_until_sync_refuses_a_coroutine_function():
    async def check() -> bool:
        return True

    with pytest.raises(TypeError, match="use until"):
        until_sync(check, "a coroutine")
