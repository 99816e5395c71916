"""``projections/aside.py``: a rebuild's pure computation in a forked child gives the
same result as in the process, its errors are raised in the process, and a result
never asked for leaves no child behind."""

from __future__ import annotations

import os

import pytest

from services.insights.projections.aside import Aside, AsideFailed


def rows(n: int) -> list[tuple[str, str]]:
    return [(f"t-{i}", "é" * (i % 7) + "x" * 1000) for i in range(n)]


async def test_a_forked_computation_gives_what_the_process_computes():
    big = 5_000  # more than a pipe holds: read while the child writes
    forked = Aside(lambda: rows(big))
    assert await forked.result() == rows(big)
    assert await Aside(lambda: rows(big), inline=True).result() == rows(big)


async def test_an_error_in_the_child_is_raised_in_the_process():
    def fails() -> None:
        raise KeyError("missing field")

    with pytest.raises(AsideFailed, match="KeyError"):
        await Aside(fails).result()
    with pytest.raises(KeyError):
        await Aside(fails, inline=True).result()


def test_a_result_never_asked_for_leaves_no_child():
    aside = Aside(lambda: rows(50_000))
    pid = aside._pid
    assert pid is not None
    aside.close()
    with pytest.raises(ChildProcessError):  # stopped and reaped already
        os.waitpid(pid, os.WNOHANG)
