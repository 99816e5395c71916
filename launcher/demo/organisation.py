"""The demo organisation as data: who works where, who mentors whom (no I/O).

``organisation(seed)`` draws the same 302 people for the same seed: the executive
office, six business units of 49 people (a head, directors, senior managers, staff,
each with a manager) across seven countries, and a five-person Sustainability
Office, the one group small
enough for equity reports to suppress. It also picks who takes part: the first
cohort's mentees (levels 5-7) and mentors (levels 8-10), the second cohort's senior
executives and their junior reverse mentors, last year's cohort's mentees (the
alumni, levels 5-7, drawn last from a random source of their own), and the named
demo users.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

ORG_NAME = "Northwind Group"
DOMAIN = "northwind.example"
UNITS = (
    "Retail Banking",
    "Commercial Banking",
    "Wealth Management",
    "Technology",
    "Operations",
    "Group Functions",
)
SMALL_UNIT = "Sustainability Office"
FUNCTIONS: dict[str, tuple[str, ...]] = {
    "Retail Banking": ("Branch Network", "Product", "Marketing", "Sales"),
    "Commercial Banking": ("Relationship Management", "Credit", "Trade Finance"),
    "Wealth Management": ("Advisory", "Investments", "Client Service"),
    "Technology": ("Engineering", "Data", "Security", "Architecture"),
    "Operations": ("Payments", "Service Centres", "Procurement"),
    "Group Functions": ("Human Resources", "Finance", "Legal", "Strategy"),
    SMALL_UNIT: ("Sustainability",),
}
# country → (time zone, languages, given names, family names)
COUNTRIES: dict[str, tuple[str, list[str], tuple[str, ...], tuple[str, ...]]] = {
    "GB": (
        "Europe/London",
        ["en"],
        ("Oliver", "Amelia", "Harry", "Isla", "George", "Freya", "Jack", "Sophie"),
        ("Taylor", "Evans", "Hughes", "Wright", "Walker", "Clarke", "Hall", "Wood"),
    ),
    "DE": (
        "Europe/Berlin",
        ["de", "en"],
        ("Lukas", "Mia", "Jonas", "Hannah", "Felix", "Lea", "Paul", "Emma"),
        ("Müller", "Schmidt", "Fischer", "Weber", "Becker", "Hoffmann", "Wolf"),
    ),
    "FR": (
        "Europe/Paris",
        ["fr", "en"],
        ("Louis", "Chloé", "Hugo", "Léa", "Jules", "Manon", "Arthur", "Camille"),
        ("Martin", "Bernard", "Dubois", "Moreau", "Laurent", "Girard", "Roux"),
    ),
    "US": (
        "America/New_York",
        ["en"],
        ("James", "Olivia", "Ethan", "Ava", "Noah", "Madison", "Lucas", "Grace"),
        ("Johnson", "Miller", "Davis", "Garcia", "Brooks", "Reed", "Carter"),
    ),
    "IN": (
        "Asia/Kolkata",
        ["en", "hi"],
        ("Aarav", "Priya", "Vivaan", "Ananya", "Arjun", "Diya", "Rohan", "Isha"),
        ("Sharma", "Patel", "Iyer", "Reddy", "Nair", "Gupta", "Menon", "Rao"),
    ),
    "SG": (
        "Asia/Singapore",
        ["en", "zh"],
        ("Wei", "Hui Min", "Jun Jie", "Xin Yi", "Ming", "Li Ting", "Kai", "Mei"),
        ("Tan", "Lim", "Lee", "Ng", "Wong", "Goh", "Chua", "Teo"),
    ),
    "BR": (
        "America/Sao_Paulo",
        ["pt", "en"],
        ("Gabriel", "Beatriz", "Rafael", "Larissa", "Thiago", "Camila", "Bruno"),
        ("Silva", "Souza", "Costa", "Oliveira", "Pereira", "Almeida", "Lima"),
    ),
}
# Where each unit mostly sits (its people are drawn from these countries).
UNIT_COUNTRIES: dict[str, tuple[str, ...]] = {
    "Retail Banking": ("GB", "FR", "BR"),
    "Commercial Banking": ("GB", "DE", "US"),
    "Wealth Management": ("SG", "US", "GB"),
    "Technology": ("IN", "GB", "US", "DE"),
    "Operations": ("IN", "BR", "FR"),
    "Group Functions": ("GB", "US", "SG"),
    SMALL_UNIT: ("GB", "DE"),
}
COMPETENCIES = (
    ("strategy", "Strategic thinking"),
    ("finance", "Financial acumen"),
    ("influence", "Influence and stakeholder management"),
    ("delegation", "Delegation and empowerment"),
    ("change", "Leading change"),
    ("people", "Developing people"),
    ("digital", "Digital fluency"),
    ("data_ai", "Data and AI literacy"),
    ("culture", "Inclusive culture"),
    ("customer", "Customer insight"),
)
LEADERSHIP = ("strategy", "finance", "influence", "delegation", "change", "people")
REVERSE = ("digital", "data_ai", "culture", "customer")
STYLES = ("coaching", "facilitative", "analytical", "visionary", "pragmatic")
LEARNING = ("reflective", "experiential", "structured", "conceptual", "social")
# Per main unit: levels of the head, directors, senior managers and staff.
SHAPE = ((10, 1), (9, 2), (8, 2), (7, 6), (6, 6), (5, 12), (4, 12), (3, 8))
MENTEES_PER_UNIT = 5
SMALL_UNIT_MENTEES = 3
MENTORS = 14
EXECUTIVES = 8  # the reverse-mentoring cohort's mentees (and its reverse mentors)
BOARD_MENTEES = 2  # directors mentored by the external advisors
CIRCLE_MENTEES = 3  # one group circle's mentees (and its one mentor)
ALUMNI = MENTORS  # last year's cohort's mentees (one per mentor)


@dataclass
class Employee:
    """One HRIS record, with what the demo gives the person to do."""

    employee_id: str
    given_name: str
    family_name: str
    level: int
    business_unit: str
    function: str
    geography: str
    title: str
    manager: str | None = None
    hire_year: int = 2015
    roles: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    @property
    def email(self) -> str:
        given = self.given_name.lower().replace(" ", "")
        family = self.family_name.lower().replace("ü", "ue")
        return f"{given}.{family}.{self.employee_id[1:]}@{DOMAIN}"

    def record(self, **overrides: Any) -> dict[str, Any]:
        """As the HRIS exports it (``POST /profiles/imports``)."""
        zone, languages, _, _ = COUNTRIES[self.geography]
        body: dict[str, Any] = {
            "employee_id": self.employee_id,
            "given_name": self.given_name,
            "family_name": self.family_name,
            "email": self.email,
            "level": self.level,
            "business_unit": self.business_unit,
            "function": self.function,
            "geography": self.geography,
            "time_zone": zone,
            "title": self.title,
            "manager_employee_id": self.manager,
            "hire_date": f"{self.hire_year}-{3 + int(self.employee_id[1:]) % 9:02d}-01",
            "languages": languages,
            "roles": self.roles,
        }
        body.update(overrides)
        return body


@dataclass
class Organisation:
    people: list[Employee]
    ceo: Employee
    sponsor: Employee  # the CHRO: admin and sponsor of the programme
    coordinator: Employee
    mentors: list[Employee]  # first cohort
    mentees: list[Employee]  # first cohort
    executives: list[Employee]  # second cohort's mentees
    reverse_mentors: list[Employee]  # second cohort's mentors
    # Drawn last, without the random source (the rest of the story is unchanged):
    board: list[Employee] = field(default_factory=list)  # external cohort's mentees
    circle_mentor: Employee | None = None  # the group cohort's mentor
    circle: list[Employee] = field(default_factory=list)  # the group cohort's mentees
    # Last year's cohort's mentees (``launcher.demo.past``), drawn after everyone
    # else from a random source of their own.
    alumni: list[Employee] = field(default_factory=list)


def title_for(level: int, function: str) -> str:
    """A job title for a level (the HRIS's convention)."""
    if level >= 10:
        return f"Head of {function}"
    if level >= 8:
        return f"Director, {function}"
    if level >= 6:
        return f"Senior Manager, {function}"
    if level >= 4:
        return f"Manager, {function}"
    return f"Analyst, {function}"


class _Drawer:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.count = 0
        self.used: set[tuple[str, str]] = set()

    def employee(
        self, unit: str, level: int, manager: Employee | None, title: str = ""
    ) -> Employee:
        self.count += 1
        country = self.rng.choice(UNIT_COUNTRIES[unit])
        _, _, given, family = COUNTRIES[country]
        name = (self.rng.choice(given), self.rng.choice(family))
        for _ in range(30):  # distinct names read better in a demo, where possible
            if name not in self.used:
                break
            name = (self.rng.choice(given), self.rng.choice(family))
        self.used.add(name)
        function = self.rng.choice(FUNCTIONS[unit])
        return Employee(
            employee_id=f"N{self.count:04d}",
            given_name=name[0],
            family_name=name[1],
            level=level,
            business_unit=unit,
            function=function,
            geography=country,
            title=title or title_for(level, function),
            manager=manager.employee_id if manager else None,
            hire_year=self.rng.randint(2004, 2023),
        )


def _unit(d: _Drawer, unit: str, ceo: Employee) -> list[Employee]:
    """A unit's people, each reporting to someone one or two levels up."""
    people: list[Employee] = []
    bosses: list[Employee] = [ceo]
    for level, count in SHAPE:
        above = [p for p in people if p.level > level] or bosses
        for _ in range(count):
            near = [p for p in above if p.level - level <= 2] or above
            people.append(d.employee(unit, level, d.rng.choice(near)))
    return people


def organisation(seed: int = 7) -> Organisation:
    """The demo organisation for ``seed`` (same seed, same people and roles)."""
    d = _Drawer(seed)
    ceo = d.employee("Group Functions", 12, None, "Group Chief Executive")
    sponsor = d.employee("Group Functions", 11, ceo, "Chief People Officer")
    coordinator = d.employee(
        "Group Functions", 7, sponsor, "Leadership Programmes Lead"
    )
    people = [ceo, sponsor, coordinator]
    units: dict[str, list[Employee]] = {}
    for unit in UNITS:
        units[unit] = _unit(d, unit, ceo)
        people += units[unit]
    small_head = d.employee(SMALL_UNIT, 9, ceo, "Director, Sustainability")
    small = [small_head] + [
        d.employee(SMALL_UNIT, level, small_head) for level in (6, 5, 5, 4)
    ]
    people += small

    mentees: list[Employee] = []
    for unit in UNITS:
        pool = [p for p in units[unit] if 5 <= p.level <= 7 and p is not coordinator]
        mentees += d.rng.sample(pool, MENTEES_PER_UNIT)
    mentees += [p for p in small if 5 <= p.level <= 7][:SMALL_UNIT_MENTEES]
    seniors = [p for p in people if 8 <= p.level <= 10 and p.business_unit in UNITS]
    mentors = d.rng.sample(seniors, MENTORS)
    executives = d.rng.sample(
        [p for p in seniors if p not in mentors and p.level >= 9], EXECUTIVES
    )
    juniors = [p for p in people if 3 <= p.level <= 4 and p.business_unit in UNITS]
    reverse_mentors = d.rng.sample(juniors, EXECUTIVES)
    for p in mentees + executives:
        p.roles = ["mentee"]
    for p in mentors:
        p.roles = ["mentor"]
    for p in reverse_mentors:
        p.roles = ["reverse_mentor"]
    sponsor.roles = ["sponsor"]
    coordinator.roles = ["coordinator"]
    # The external and group cohorts: people of the main units with no role yet.
    spare = [p for p in people if not p.roles and p.business_unit in UNITS]
    board = [p for p in spare if p.level == 8][:BOARD_MENTEES]
    circle = [p for p in spare if p.level == 5][:CIRCLE_MENTEES]
    units_of_circle = {p.business_unit for p in circle}
    circle_mentor = next(  # outside the mentees' reporting lines
        p for p in spare if p.level == 9 and p.business_unit not in units_of_circle
    )
    for p in board + circle:
        p.roles = ["mentee"]
    circle_mentor.roles = ["mentor"]
    # Last year's mentees: levels 5-7 of the main units with no role yet.
    alumni = random.Random(f"{seed}/alumni").sample(
        [p for p in people if not p.roles and p.business_unit in UNITS
         and 5 <= p.level <= 7],
        ALUMNI,
    )  # fmt: skip
    for p in alumni:
        p.roles = ["mentee"]
    return Organisation(
        people=people,
        ceo=ceo,
        sponsor=sponsor,
        coordinator=coordinator,
        mentors=mentors,
        mentees=mentees,
        executives=executives,
        reverse_mentors=reverse_mentors,
        board=board,
        circle_mentor=circle_mentor,
        circle=circle,
        alumni=alumni,
    )
