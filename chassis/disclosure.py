"""Statistical disclosure control of published counts (method in docs/privacy.md).

Shared by every service that publishes counts of people: insights' equity reports and
matching's fairness reports use the same rules and the same keyed draws.

A published count is a *cell*: the number of people in a set (the women registered,
the Retail participants matched, ...). Three rules, after the ONS and US Census
practice, keep any one person's membership from being read off the figures:

- **Primary suppression** with a keyed threshold: a cell is withheld when its count
  is below ``threshold(S)``, a number between ``k`` and ``k + BASE - 1`` drawn from
  an HMAC of the cell's members under a server secret. The same set of people always
  gets the same threshold (every report agrees), a set that differs by one person
  gets an unrelated one, so seeing a cell disappear after one person's change does
  not pin its value at ``k - 1``.
- **Perturbation and rounding** (the ONS "cell key" method, simplified): a shown
  count ``n`` is published as ``rounded(n + offset(S))``, the offset between -2 and
  +2 drawn from the same keyed hash as the threshold, then rounded to the nearest
  multiple of ``BASE`` (5). The published figure is within 4 of the truth, the same
  set always gives the same figure, and a set one person away gets an unrelated
  offset: a change of one that moves a figure across a rounding boundary no longer
  says where the boundary was, so totals minus shown cells, or before minus after,
  only ever give intervals.
- **Secondary (complementary) suppression**: within a column, if cells are withheld,
  at least two are, and together they hold at least ``k`` people; otherwise the next
  smallest shown cells are withheld too. A known total minus the shown cells then
  bounds only an aggregate of two or more cells, never one.

Rates are computed from the published counts (capped at 1), so they reveal nothing
the counts hide.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Collection, Mapping

BASE = 5


def rounded(count: int, base: int = BASE) -> int:
    """``count`` to the nearest multiple of ``base`` (halves up: 7 → 5, 8 → 10)."""
    return ((2 * count + base) // (2 * base)) * base


def _draw(members: Collection[str], key: bytes, purpose: bytes) -> int:
    digest = hmac.new(
        key, purpose + b"\0" + "\n".join(sorted(members)).encode(), hashlib.sha256
    ).digest()
    return int.from_bytes(digest[:8], "big")


def threshold(members: Collection[str], k: int, key: bytes, base: int = BASE) -> int:
    """The keyed primary-suppression threshold (k to k + base - 1) of a cell: the
    same set always gets the same one, a set one person away an unrelated one."""
    if not members:
        return k
    return k + _draw(members, key, b"threshold") % base


def offset(members: Collection[str], key: bytes, base: int = BASE) -> int:
    """The keyed perturbation (-base // 2 to +base // 2) of a cell (0 when empty)."""
    if not members:
        return 0
    return _draw(members, key, b"offset") % base - base // 2


def shown(members: Collection[str], k: int, key: bytes) -> bool:
    """Whether the cell passes primary suppression."""
    return len(members) >= threshold(members, k, key)


def published(members: Collection[str], k: int, key: bytes) -> int | None:
    """The cell's published count: perturbed and rounded, or ``None`` withheld."""
    if not shown(members, k, key):
        return None
    return perturbed(len(members), members, key)


def perturbed(count: int, members: Collection[str], key: bytes) -> int:
    """``count`` (of a cell of ``members``) plus the cell's keyed offset, rounded."""
    return rounded(count + offset(members, key))


def complementary(
    sizes: Mapping[str, int], withheld: Collection[str], k: int
) -> frozenset[str]:
    """``withheld`` grown until it is empty, or holds two or more cells of at least
    ``k`` people together, or everything (smallest shown cells go first)."""
    hidden = set(withheld)
    order = sorted((n, g) for g, n in sizes.items() if g not in hidden)
    while hidden and order and (len(hidden) < 2 or sum(sizes[g] for g in hidden) < k):
        hidden.add(order.pop(0)[1])
    return frozenset(hidden)


def rate(part: int | None, whole: int | None) -> float | None:
    """A rate of two published counts (capped at 1: each is perturbed on its own);
    ``None`` when either is withheld."""
    if part is None or not whole:
        return None
    return min(part / whole, 1.0)


def key_for(secret: str | None, fallback_secret: str, purpose: str) -> bytes:
    """The key of a service's draws: its own secret, or one derived from
    ``fallback_secret`` (the token secret) for ``purpose``. Never in a report, so no
    reader can recompute a threshold."""
    if secret is not None:
        return secret.encode()
    return hmac.new(
        fallback_secret.encode(),
        f"tandem {purpose} disclosure".encode(),
        hashlib.sha256,
    ).digest()
