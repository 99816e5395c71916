"""What the demo planted (``DemoFacts``), kept as ``demo.json`` in the data folder.

The file is also the marker of a seeded folder. Tokens are minted again whenever the
facts are read back, so an old folder never hands out expired tokens.
"""

from __future__ import annotations

import base64
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from chassis.auth.tokens import mint_token
from chassis.settings import DEFAULT_DEV_SECRET

TENANT = "demo"
FILE_NAME = "demo.json"
TOKEN_TTL_S = 24 * 3600


def dev_token(subject: str, roles: list[str], tenant: str = TENANT) -> str:
    """A development bearer token, minted exactly as ``./tandem up`` mints it."""
    return mint_token(
        DEFAULT_DEV_SECRET,
        subject=subject,
        tenant=tenant,
        roles=roles,
        issuer="tandem-dev",
        audience="tandem",
        ttl_s=TOKEN_TTL_S,
    )


@dataclass
class DemoUser:
    """Someone to sign in as; ``person_id`` is their id in profiles (local id)."""

    name: str
    person_id: str
    roles: list[str]
    token: str
    title: str = ""

    def public(self) -> dict[str, Any]:
        """As ``GET /dev/tokens`` lists it."""
        return {
            "name": self.name,
            "personId": self.person_id,
            "roles": self.roles,
            "token": self.token,
            "title": self.title,
        }


@dataclass
class Person:
    person_id: str
    name: str


@dataclass
class DemoFacts:
    """The planted facts of one seeding (ids are the services' own, local ids)."""

    tenant: str
    seed: int
    organisation: str
    users: list[DemoUser]
    cohorts: dict[str, str]  # "leadership" / "reverse" → cohort id
    cohort_names: dict[str, str]
    rounds: dict[str, str]  # "leadership" (approved) / "reverse" (left proposed)
    stalled_relationship_id: str
    stalled_mentor: Person
    stalled_mentee: Person
    promoted: Person
    suppressed_group: dict[str, str]  # {"dimension": …, "value": …}
    advisors: list[str]
    counts: dict[str, int] = field(default_factory=dict)
    # advisor id → their agreement (absent from folders seeded before agreements)
    agreements: dict[str, str] = field(default_factory=dict)
    # Last year's cohort (``cohorts["past"]``), imported as a programme history
    # (absent from folders seeded before it): the day the seeding dated it from,
    # its development phase, the three quarters before the seeding's, a mentor with
    # sessions held in each, and its pair that ended early.
    history_anchor: str = ""
    past_starts_on: str = ""
    past_ends_on: str = ""
    past_quarters: list[str] = field(default_factory=list)
    impact_mentor: Person | None = None
    past_relationship_id: str = ""
    # The demo's webhook endpoint (absent from folders seeded before it): registered
    # on the demo integrator this platform serves (launcher.demo.integrator), which
    # verifies each message with this secret (development only, shown nowhere else).
    webhook_endpoint_id: str = ""
    webhook_url: str = ""
    webhook_secret: str = ""

    @property
    def round_id(self) -> str:
        """The round whose pairs await the coordinator's approval."""
        return self.rounds["reverse"]

    def user(self, role: str) -> DemoUser:
        """The first demo user holding ``role``."""
        return next(u for u in self.users if role in u.roles)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DemoFacts:
        data = dict(data)
        data["users"] = [
            DemoUser(**{**u, "token": dev_token(u["person_id"], u["roles"])})
            for u in data["users"]
        ]
        for key in ("stalled_mentor", "stalled_mentee", "promoted"):
            data[key] = Person(**data[key])
        if data.get("impact_mentor"):
            data["impact_mentor"] = Person(**data["impact_mentor"])
        return cls(**data)

    def save(self, data_dir: str | Path) -> Path:
        path = Path(data_dir) / FILE_NAME
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.to_json(), indent=2, ensure_ascii=False))
        tmp.replace(path)  # whole or absent: the marker never half-written
        return path


def global_id(type_name: str, local: str) -> str:
    """The GraphQL (Relay) id of a service's object: base64 of ``Type:id``."""
    return base64.b64encode(f"{type_name}:{local}".encode()).decode()


def example_variables(facts: DemoFacts) -> dict[str, str]:
    """Variables that make the GraphiQL examples run against this demo."""
    variables = {
        "cohortId": global_id("Cohort", facts.cohorts["leadership"]),
        "roundId": global_id("MatchingRound", facts.round_id),
        "relationshipId": global_id("Relationship", facts.stalled_relationship_id),
        "menteeId": global_id("Person", facts.promoted.person_id),
    }
    if "past" in facts.cohorts and facts.impact_mentor is not None:
        # Last year's cohort scored as of its end; mentor impact per quarter.
        variables.update(
            pastCohortId=global_id("Cohort", facts.cohorts["past"]),
            pastEndsOn=facts.past_ends_on,
            mentorId=global_id("Person", facts.impact_mentor.person_id),
            **{
                f"quarter{n}": quarter
                for n, quarter in enumerate(facts.past_quarters, 1)
            },
        )
    if facts.webhook_endpoint_id:
        variables["endpointId"] = global_id(
            "WebhookEndpoint", facts.webhook_endpoint_id
        )
    return variables


def load_facts(data_dir: str | Path) -> DemoFacts | None:
    """The facts of a seeded folder (fresh tokens), or None when it is not seeded."""
    path = Path(data_dir) / FILE_NAME
    if not path.exists():
        return None
    return DemoFacts.from_json(json.loads(path.read_text()))
