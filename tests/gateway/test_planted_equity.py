"""The planted truth of equity (issue 20): an organisation large enough for its
equity report to publish figures, its past imported from a file through
``importProgrammeHistory``, and the report read back through GraphQL as of three
days, every figure written out by hand below.

The organisation: 65 people hired in March 2015, in three business units, and one
cohort, ``C-EQ`` (6 January to 31 December 2025):

=========== ========== ============================================================
unit        registered mentees (admitted on)
=========== ========== ============================================================
Finance     25         F01-F20 (01-06); mentors MF1-MF5
Operations  20         O01-O15 (01-06); mentors MO1-MO5
Retail      20         R01-R10 (01-06), R11-R15 (05-05); mentors MR1-MR5
=========== ========== ============================================================

Matched (the pairing's ``starts_on``; every pairing concluded on 2025-12-15):
F01-F10, every O and R01-R10 on 2025-02-03; F11-F20 on 2025-05-12; R11-R15 on
2025-06-16.

Promoted (``effective_on``): F01, F02, O01-O10 and R01-R03 on 2025-03-03; F03-F10
and R04-R10 on 2025-06-02; F11-F20 and R11-R15 on 2025-10-01. Nobody departed.

The rules read as docs/privacy.md and ``services/insights/domain`` (equity.py,
stats.py) write them: k = 5; a cell below a keyed threshold (between k and k + 4)
is withheld, so a count of 0 to 4 always is and one of 10 or more never is; a shown
count is perturbed by at most 2 and rounded to 5, so a true count that is a multiple
of 5 is published as itself. Every shown count below is such a multiple (and every
total too): the published figures ARE the true ones, whatever the server's key and
the people's ids. Within a column, withheld cells are two or more holding at least
k people together (else the smallest shown cells go too).

Rates, Wilson 95% intervals (z = 1.959963984540054), impact ratios against the best
group (highest rate; a tie to more trials, then the first name) and Fisher's exact
two-sided p-values were worked out from the counts with the textbook formulas
(Wilson: centre (p + z²/2n) / (1 + z²/n), half-width z·sqrt(p(1-p)/n + z²/4n²) /
(1 + z²/n), exactly 0 or 1 at the extremes; Fisher: the sum of the hypergeometric
probabilities of the tables, margins fixed, no more probable than the observed one)
and are written out as literals to 10 decimals; nothing here calls the code under
test to compute an expectation. Verdict: ADVERSE_IMPACT (flagged) when the ratio is
below 0.8 and p < 0.05, TOO_FEW_TO_TELL when below 0.8 and p >= 0.05, else
NO_ADVERSE_IMPACT (the best group itself: ratio 1, no p-value).
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio

from chassis.auth import Role
from tests.gateway.history_seed import Seeded, seed_organisation
from tests.gateway.platform import Platform, new_tenant, token
from tests.support.waiting import until

pytestmark = pytest.mark.asyncio(loop_scope="module")

# -- the HRIS file ----------------------------------------------------------------------

UNIT = {"F": "Finance", "O": "Operations", "R": "Retail"}
MENTEES = [f"F{n:02d}" for n in range(1, 21)] + [
    f"{u}{n:02d}" for u in "OR" for n in range(1, 16)
]
MENTORS = [f"M{u}{n}" for u in "FOR" for n in range(1, 6)]
PEOPLE = MENTEES + MENTORS


def unit_of(name: str) -> str:
    return UNIT[name[1] if name.startswith("M") else name[0]]


def hris_record(name: str) -> dict[str, Any]:
    mentor = name in MENTORS
    return {
        "employee_id": f"E-{name}",
        "given_name": name,
        "family_name": "Equity",
        "email": f"{name.lower()}@equity.example",
        "level": 8 if mentor else 5,
        "business_unit": unit_of(name),
        "function": "Finance",
        "geography": "GB",
        "time_zone": "Europe/London",
        "title": "Director" if mentor else "Manager",
        "hire_date": "2015-03-01",
        "languages": ["en"],
        "roles": ["mentor"] if mentor else ["mentee"],
    }


# -- the programme-history file -----------------------------------------------------------


def admitted_on(mentee: str) -> str:
    return "2025-05-05" if mentee[0] == "R" and int(mentee[1:]) > 10 else "2025-01-06"


def starts_on(mentee: str) -> str:
    number = int(mentee[1:])
    if mentee[0] == "F" and number > 10:
        return "2025-05-12"
    if mentee[0] == "R" and number > 10:
        return "2025-06-16"
    return "2025-02-03"


def promoted_on(mentee: str) -> str | None:
    unit, number = mentee[0], int(mentee[1:])
    if unit == "F":
        return (
            "2025-03-03"
            if number <= 2
            else "2025-06-02"
            if number <= 10
            else ("2025-10-01")
        )
    if unit == "O":
        return "2025-03-03" if number <= 10 else None
    return (
        "2025-03-03"
        if number <= 3
        else "2025-06-02"
        if number <= 10
        else ("2025-10-01")
    )


def mentor_of(mentee: str) -> str:
    """Each unit's mentees spread over its five mentors."""
    return f"M{mentee[0]}{(int(mentee[1:]) - 1) % 5 + 1}"


def document() -> dict[str, Any]:
    return {
        "format": "tandem.programme-history/1",
        "cohorts": [
            {
                "key": "C-EQ",
                "name": "Equity 2025",
                "programme_type": "standard",
                "starts_on": "2025-01-06",
                "ends_on": "2025-12-31",
                "members": [
                    *(
                        {
                            "employee_id": f"E-{m}",
                            "role": "mentee",
                            "admitted_on": admitted_on(m),
                        }
                        for m in MENTEES
                    ),
                    *(
                        {
                            "employee_id": f"E-{m}",
                            "role": "mentor",
                            "admitted_on": "2025-01-06",
                        }
                        for m in MENTORS
                    ),
                ],
            }
        ],
        "pairings": [
            {
                "key": f"P-{m}",
                "cohort": "C-EQ",
                "mentor": f"E-{mentor_of(m)}",
                "mentee": f"E-{m}",
                "approved_on": (
                    datetime.fromisoformat(starts_on(m)) - timedelta(days=7)
                )
                .date()
                .isoformat(),
                "starts_on": starts_on(m),
                "ended_on": "2025-12-15",
                "end_reason": "concluded",
                # MF1's four pairings have a contract: their mentor's impact
                # expects a session every 14 days.
                **(
                    {
                        "contract": {
                            "every_days": 14,
                            "minutes": 60,
                            "objectives": ["Lead the budget cycle"],
                        }
                    }
                    if mentor_of(m) == "MF1"
                    else {}
                ),
            }
            for m in MENTEES
        ],
        "outcomes": [
            {
                "key": f"O-{m}",
                "employee_id": f"E-{m}",
                "kind": "promotion",
                "effective_on": on,
            }
            for m in MENTEES
            if (on := promoted_on(m)) is not None
        ],
    }


# -- the import ---------------------------------------------------------------------------


def local(global_id: str) -> str:
    return base64.b64decode(global_id).decode().split(":", 1)[1]


class Org:
    def __init__(self, p: Platform, admin: str) -> None:
        self.p = p
        self.admin = admin
        self.person: dict[str, str] = {}
        self.counts: list[dict[str, Any]] = []
        self.tenant = ""

    async def ask(self, query: str, variables: dict[str, Any] | None = None) -> dict:
        return (await self.p.graphql(query, variables, bearer=self.admin))["data"]

    async def answer(self, query: str, variables: dict[str, Any] | None = None):
        return await self.p.graphql(
            query, variables, bearer=self.admin, expect_errors=True
        )


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def org(platform) -> Org:
    tenant = new_tenant()
    o = Org(platform, token("equity-admin", tenant, Role.ADMIN, Role.COORDINATOR))
    o.tenant = tenant

    async def insights_has_everything(_: Seeded) -> bool:
        # Every fact of the file: today's report (which is 2025-12-31's).
        report = (await o.ask(EQUITY_NOW))["equityReport"]
        return [
            (g["group"], g["participants"], g["matched"], g["promoted"])
            for g in report["groups"]
        ] == [
            ("Finance", 20, 20, 20),
            ("Operations", 15, 15, 10),
            ("Retail", 15, 15, 15),
        ]

    seeded = await seed_organisation(
        platform,
        o.admin,
        people={n: hris_record(n) for n in PEOPLE},
        hris_key="hris-equity",
        mentors=MENTORS,
        max_mentees=4,
        document=document(),
        settled=insights_has_everything,
    )
    o.person = seeded.person
    o.counts = seeded.job["counts"]
    return o


# -- the report ---------------------------------------------------------------------------

FIGURES = """registered participants participationRate matched matchRate
  medianDaysToMatch meanMatchScore promoted promotionRate departed"""
GROUP = f"""group suppressed {FIGURES}
  matchRateInterval {{ low high }} matchRateImpact matchRatePValue matchRateVerdict
  matchRateFlagged
  promotionRateInterval {{ low high }} promotionRateImpact promotionRatePValue
  promotionRateVerdict promotionRateFlagged"""
EQUITY = f"""query($on: Date) {{ equityReport(by: BUSINESS_UNIT, asOf: $on) {{
  dimension asOf k significance suppressedGroups
  groups {{ {GROUP} }}
  total {{ suppressed {FIGURES} }} }} }}"""
EQUITY_NOW = (
    "{ equityReport(by: BUSINESS_UNIT) { groups { group participants matched "
    "promoted } } }"
)

ADVERSE, TOO_FEW, NONE = "ADVERSE_IMPACT", "TOO_FEW_TO_TELL", "NO_ADVERSE_IMPACT"


def comparison(
    prefix: str,
    rate: float | None,
    interval: tuple[float, float] | None,
    impact: float | None,
    p: float | None,
    verdict: str | None,
) -> dict[str, Any]:
    return {
        f"{prefix}Rate": rate,
        f"{prefix}RateInterval": None
        if interval is None
        else {"low": interval[0], "high": interval[1]},
        f"{prefix}RateImpact": impact,
        f"{prefix}RatePValue": p,
        f"{prefix}RateVerdict": verdict,
        f"{prefix}RateFlagged": verdict == ADVERSE,
    }


def group(
    name: str,
    registered: int,
    participants: int,
    matched: int,
    median_days: int,
    promoted: int | None,
    match: tuple,
    promotion: tuple,
) -> dict[str, Any]:
    return {
        "group": name,
        "suppressed": False,
        "registered": registered,
        "participants": participants,
        "participationRate": participants / registered,
        "matched": matched,
        "medianDaysToMatch": median_days,
        "meanMatchScore": None,  # imported pairings carry no match score
        "promoted": promoted,
        "departed": None,  # nobody departed: an empty cell is withheld
        **comparison("match", *match),
        **comparison("promotion", *promotion),
    }


def total(
    registered: int, participants: int, matched: int, promoted: int
) -> dict[str, Any]:
    return {
        "suppressed": False,
        "registered": registered,
        "participants": participants,
        "participationRate": round(participants / registered, 10),
        "matched": matched,
        "matchRate": round(matched / participants, 10),
        # 28 days for everyone matched on 02-03 (admitted 01-06) outnumbers the rest
        "medianDaysToMatch": 28,
        "meanMatchScore": None,
        "promoted": promoted,
        "promotionRate": round(promoted / participants, 10),
        "departed": None,
    }


# Wilson 95% intervals of the rates that occur (to 10 decimals).
W_10_OF_20 = (0.2992980082, 0.7007019918)
W_15_OF_15 = (0.7961166990, 1.0)
W_10_OF_10 = (0.7224672001, 1.0)
W_20_OF_20 = (0.8388748419, 1.0)
W_10_OF_15 = (0.4171354774, 0.8482367556)
W_25_OF_25 = (0.8668077491, 1.0)
NO_RATE = (None, None, None, None, None)  # a withheld count: no rate, no verdict

EXPECTED: dict[str, dict[str, Any]] = {
    # 2025-03-31: Retail has only its first ten mentees; Finance's F11-F20 are not
    # matched yet; F01, F02, O01-O10, R01-R03 promoted.
    "2025-03-31": {
        "groups": [
            group(
                "Finance", 25, 20, 10, 28, None,
                # Match rate 10/20 = 0.5 against the best, Operations (15/15 = 1; it
                # ties Retail's 10/10 and has more trials): ratio 0.5. Wilson of
                # 10/20: p = 0.5, z² = 3.8414588, centre (0.5 + 3.8414588/40) /
                # (1 + 3.8414588/20) = 0.5, half 1.959964·sqrt(0.25/20 +
                # 3.8414588/1600) / 1.1920729 = 0.2007019918: (0.2992980082,
                # 0.7007019918). Fisher, [[10, 10], [15, 0]]: of the tables with 25
                # matched among 35 (20 + 15), those no more probable than 10 + 15:
                # P(10) + P(9) + ... = 0.0015680354 < 0.05 and ratio < 0.8: flagged.
                (0.5, W_10_OF_20, 0.5, 0.0015680354, ADVERSE),
                # Promoted 2 (F01, F02): below k, withheld, and Retail's 3 with it
                # (withheld cells: two, 2 + 3 = 5 >= k: Operations' 10 stays).
                NO_RATE,
            ),
            group(
                "Operations", 20, 15, 15, 28, 10,
                (1.0, W_15_OF_15, 1.0, None, NONE),  # the best: no test
                # 10/15, the only promotion rate shown: the best.
                (0.6666666667, W_10_OF_15, 1.0, None, NONE),
            ),
            group(
                "Retail", 20, 10, 10, 28, None,
                # 10/10 = 1 against 15/15: ratio 1; Fisher p = 1.
                (1.0, W_10_OF_10, 1.0, 1.0, NONE),
                NO_RATE,  # 3 promoted (R01-R03): withheld
            ),
        ],
        # 65 registered, 45 participants, 35 matched, 2 + 10 + 3 = 15 promoted.
        "total": total(65, 45, 35, 15),
    },
    # 2025-06-30: everyone matched (R11-R15 on 06-16, 42 days after admission);
    # F03-F10 and R04-R10 promoted on 06-02.
    "2025-06-30": {
        "groups": [
            group(
                "Finance", 25, 20, 20,
                # 10 matched after 28 days, 10 after 126 (01-06 to 05-12): (28 +
                # 126) / 2.
                77, 10,
                # 20/20: the best match rate (ties the others, has most trials).
                (1.0, W_20_OF_20, 1.0, None, NONE),
                # 10/20 = 0.5 against Operations' 10/15 (Retail ties it, same
                # trials, later name): ratio 0.75 < 0.8, but Fisher [[10, 10],
                # [10, 5]] p = 0.4915992465 >= 0.05: too few to tell.
                (0.5, W_10_OF_20, 0.75, 0.4915992465, TOO_FEW),
            ),
            group(
                "Operations", 20, 15, 15, 28, 10,
                (1.0, W_15_OF_15, 1.0, 1.0, NONE),
                (0.6666666667, W_10_OF_15, 1.0, None, NONE),  # the best
            ),
            group(
                "Retail", 20, 15, 15,
                # ten after 28 days, five after 42 (05-05 to 06-16): the 8th is 28.
                28, 10,
                (1.0, W_15_OF_15, 1.0, 1.0, NONE),
                (0.6666666667, W_10_OF_15, 1.0, 1.0, NONE),
            ),
        ],
        "total": total(65, 50, 50, 30),
    },
    # 2025-12-31: F11-F20 and R11-R15 promoted on 10-01.
    "2025-12-31": {
        "groups": [
            group(
                "Finance", 25, 20, 20, 77, 20,
                (1.0, W_20_OF_20, 1.0, None, NONE),
                (1.0, W_20_OF_20, 1.0, None, NONE),  # the best (20/20)
            ),
            group(
                "Operations", 20, 15, 15, 28, 10,
                (1.0, W_15_OF_15, 1.0, 1.0, NONE),
                # 10/15 against 20/20: ratio 0.6666666667; Fisher [[10, 5], [20, 0]]
                # p = 0.0092504744 < 0.05: flagged.
                (0.6666666667, W_10_OF_15, 0.6666666667, 0.0092504744, ADVERSE),
            ),
            group(
                "Retail", 20, 15, 15, 28, 15,
                (1.0, W_15_OF_15, 1.0, 1.0, NONE),
                (1.0, W_15_OF_15, 1.0, 1.0, NONE),
            ),
        ],
        "total": total(65, 50, 50, 45),
    },
}  # fmt: skip
DATES = tuple(EXPECTED)


def rounded(value: Any) -> Any:
    """Every float to 10 decimals (the literals above are written to 10)."""
    if isinstance(value, float):
        return round(value, 10)
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [rounded(v) for v in value]
    return value


async def test_every_record_of_the_file_was_created(org: Org):
    assert {
        c["section"]: (c["created"], c["failed"], c["unchanged"]) for c in org.counts
    } == {
        "COHORTS": (1, 0, 0),
        "OUTCOMES": (45, 0, 0),  # F 20, O 10, R 15
        "PAIRINGS": (50, 0, 0),
        "CONTRACTS": (4, 0, 0),  # MF1's: F01, F06, F11, F16
    }


@pytest.mark.parametrize("on", DATES)
async def test_equity_by_business_unit_as_of(org: Org, on: str):
    report = (await org.ask(EQUITY, {"on": on}))["equityReport"]
    assert {k: report[k] for k in ("dimension", "asOf", "k", "significance")} == {
        "dimension": "business_unit",
        "asOf": on,
        "k": 5,
        "significance": 0.05,
    }
    assert report["suppressedGroups"] == 0  # every unit has 20 or more people
    assert rounded(report["groups"]) == rounded(EXPECTED[on]["groups"])
    assert rounded(report["total"]) == rounded(EXPECTED[on]["total"])


async def test_equity_now_is_the_end_of_2025(org: Org):
    """Nothing of the file happened after 2025: today's report is 12-31's."""
    report = (await org.ask(EQUITY, {"on": None}))["equityReport"]
    assert report["asOf"] is None
    assert rounded(report["groups"]) == rounded(EXPECTED["2025-12-31"]["groups"])


async def test_equity_as_of_a_day_before_anyone_took_part(org: Org):
    """2024-12-31: 65 registered (hired in 2015), nobody admitted yet: every
    participants cell is empty, so every group is withheld and so is the total."""
    report = (await org.ask(EQUITY, {"on": "2024-12-31"}))["equityReport"]
    assert report["suppressedGroups"] == 3
    assert [
        (g["group"], g["suppressed"], g["registered"]) for g in report["groups"]
    ] == [
        ("Finance", True, None),
        ("Operations", True, None),
        ("Retail", True, None),
    ]
    assert report["total"]["suppressed"] is True


async def test_equity_as_of_a_day_ahead_is_refused(org: Org):
    ahead = (datetime.now(UTC).date() + timedelta(days=1)).isoformat()
    answer = await org.answer(EQUITY, {"on": ahead})
    assert answer["data"] is None
    assert answer["errors"][0]["extensions"]["code"] == "ValidationError"
    assert answer["errors"][0]["message"].startswith("as_of: must be between")


# -- a demographic attribute ------------------------------------------------------------

# What each mentee shares (with consent, as themselves); the mentors share nothing,
# so they are in no demographic group.
GENDER = {
    **{m: "woman" for m in MENTEES if m[0] == "F" or m in {f"O{n:02d}" for n in range(1, 6)}},
    **{m: "man" for m in MENTEES if m[0] == "O" and int(m[1:]) > 5},
    **{f"R{n:02d}": "man" for n in range(1, 11)},
    **{f"R{n:02d}": "nonbinary" for n in range(11, 14)},
    **{f"R{n:02d}": "another" for n in range(14, 16)},
}  # fmt: skip
CONSENT = """mutation($i: SetConsentInput!) { setConsent(input: $i) { __typename } }"""
SHARE = """mutation($i: ShareDemographicsInput!) { shareDemographics(input: $i) {
  __typename } }"""
BY_GENDER = EQUITY.replace(
    "equityReport(by: BUSINESS_UNIT, asOf: $on)",
    'equityReport(by: DEMOGRAPHICS, attribute: "gender", asOf: $on)',
)


def demographic(name, n, promoted, match, promotion) -> dict[str, Any]:
    """A shown demographic group: every mentee in it took part and was matched by
    2025-12-31; no median days nor mean score (they would move with one match)."""
    return {
        **group(name, n, n, n, 0, promoted, match, promotion),
        "medianDaysToMatch": None,
    }


async def test_equity_by_a_demographic_attribute(org: Org):
    """As of 2025-12-31 by gender: woman F01-F20 and O01-O05 (25, all promoted),
    man O06-O15 and R01-R10 (20; O11-O15 never promoted: 15), nonbinary R11-R13 (3)
    and another R14-R15 (2). The two small groups are withheld (together 3 + 2 = 5
    people, >= k, in every column: no other cell goes with them), neither named nor
    counted; the mentors shared nothing and are in no group."""
    for m in MENTEES:
        me = token(local(org.person[m]), org.tenant, Role.MENTEE)
        for query, variables in (
            (CONSENT, {"personId": org.person[m], "purpose": "demographics",
                       "given": True}),
            (SHARE, {"personId": org.person[m], "attributes": {"gender": GENDER[m]}}),
        ):  # fmt: skip
            answer = await org.p.graphql(query, {"i": variables}, bearer=me)
            assert next(iter(answer["data"].values()))["__typename"] == (
                "PersonSuccess"
            ), answer

    async def shared() -> dict[str, Any] | None:
        report = (await org.ask(BY_GENDER, {"on": "2025-12-31"}))["equityReport"]
        # Everyone was registered long before they shared: wait until the shown
        # groups hold all 45 people of man and woman (the shares arrive one by one).
        shown = sum(
            g["registered"] or 0 for g in report["groups"] if not g["suppressed"]
        )
        return (
            report if report["total"].get("registered") == 50 and shown == 45 else None
        )

    report = await until(shared, "insights has everyone's demographics", 60)
    assert (report["dimension"], report["suppressedGroups"]) == (
        "demographics.gender",
        None,  # how many demographic groups hide is withheld too
    )
    assert rounded(report["groups"]) == rounded(
        [
            demographic(
                "man", 20, 15,
                # 20/20 against woman's 25/25 (more trials): ratio 1, Fisher p 1.
                (1.0, W_20_OF_20, 1.0, 1.0, NONE),
                # 15/20 = 0.75 against 25/25: ratio 0.75; Fisher [[15, 5], [25, 0]]
                # p = 0.0126899004 < 0.05: flagged. Wilson of 15/20: centre
                # (0.75 + 0.0960365) / 1.1920729 = 0.7097187, half 0.1784196.
                (0.75, (0.5312991224, 0.8881382986), 0.75, 0.0126899004, ADVERSE),
            ),
            demographic(
                "woman", 25, 25,
                (1.0, W_25_OF_25, 1.0, None, NONE),
                (1.0, W_25_OF_25, 1.0, None, NONE),
            ),
        ]
    )  # fmt: skip
    assert rounded(report["total"]) == rounded(
        {**total(50, 50, 50, 45), "medianDaysToMatch": None}
    )


# -- a mentor deactivated on a past day -------------------------------------------------

DEACTIVATE = """mutation($i: DeactivatePersonInput!) { deactivatePerson(input: $i) {
  __typename ... on Error { code message }
  ... on ValidationError { fields { path message } } } }"""
IMPACT = """query($m: ID!, $q: String!) { mentorImpact(mentorId: $m, quarter: $q) {
  quarter sessionsHeld sessionsExpected mentorStatus activeDays mentees { id } } }"""


async def test_a_mentor_deactivated_on_a_past_day_counts_only_before_it(org: Org):
    """MF1 mentors F01, F06 (from 2025-02-03) and F11, F16 (from 2025-05-12), every
    14 days, to 2025-12-15; deactivated (told today) since 2025-08-15. The days from
    then on expect nothing: Q1 and Q2 count whole, Q3 up to 08-14, Q4 nothing."""
    mf1 = org.person["MF1"]
    # An impossible day: a ValidationError naming the field, and nothing changes.
    ahead = (datetime.now(UTC).date() + timedelta(days=1)).isoformat()
    for day, message in (
        (ahead, "must not be in the future"),
        ("2015-02-28", "before the person's hire date (2015-03-01)"),
    ):
        refused = (
            await org.ask(DEACTIVATE, {"i": {"personId": mf1, "effectiveOn": day}})
        )["deactivatePerson"]
        assert refused["__typename"] == "ValidationError", refused
        assert refused["fields"] == [{"path": "input.effectiveOn", "message": message}]
    # The same through REST.
    rest = await org.p.service(
        "profiles",
        "POST",
        f"/people/{local(mf1)}/deactivate",
        bearer=org.admin,
        json={"reason": "inactive", "effective_on": ahead},
    )
    assert rest.status_code == 422, rest.text
    assert [e["path"] for e in rest.json()["errors"]] == ["effective_on"]
    status = await org.ask(
        "query($id: ID!) { node(id: $id) { ... on Person { status } } }", {"id": mf1}
    )
    assert status["node"]["status"] == "ACTIVE"

    done = (
        await org.ask(DEACTIVATE, {"i": {"personId": mf1, "effectiveOn": "2025-08-15"}})
    )["deactivatePerson"]
    assert done["__typename"] == "PersonSuccess", done

    async def impact(quarter: str) -> dict[str, Any]:
        return (await org.ask(IMPACT, {"m": mf1, "q": quarter}))["mentorImpact"]

    async def deactivated() -> bool:
        return (await impact("2025Q4"))["mentorStatus"] == "DEACTIVATED"

    await until(deactivated, "insights has heard of the deactivation", 60)
    mentees = sorted(org.person[m] for m in ("F01", "F06", "F11", "F16"))

    def report(quarter, expected, status, days, who) -> dict[str, Any]:
        return {
            "quarter": quarter,
            "sessionsHeld": 0,  # the file has no sessions
            "sessionsExpected": expected,
            "mentorStatus": status,
            "activeDays": days,
            "mentees": [{"id": m} for m in who],
        }

    early = sorted(org.person[m] for m in ("F01", "F06"))
    answers = {q: await impact(q) for q in ("2025Q1", "2025Q2", "2025Q3", "2025Q4")}
    for answer in answers.values():
        answer["mentees"] = sorted(answer["mentees"], key=lambda m: m["id"])
    assert answers == {
        # 02-03 to 03-31: 26 + 31 = 57 days; 57 / 14 = 4.07 → 4 for each of two.
        "2025Q1": report("2025Q1", 8, "ACTIVE", 57, early),
        # F01, F06: 91 days, 6 each; F11, F16 05-12 to 06-30: 20 + 30 = 50 days, 3
        # each: 18.
        "2025Q2": report("2025Q2", 18, "ACTIVE", 91, mentees),
        # Away from 08-15: 07-01 to 08-14 = 31 + 14 = 45 days, 3 each of four: 12;
        # deactivated at the quarter's end.
        "2025Q3": report("2025Q3", 12, "DEACTIVATED", 45, mentees),
        # Away the whole quarter: no day active, nothing expected.
        "2025Q4": report("2025Q4", 0, "DEACTIVATED", 0, mentees),
    }  # fmt: skip
