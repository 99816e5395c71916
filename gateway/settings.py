"""The gateway's settings: where the services are, and how hard to protect them."""

from __future__ import annotations

from pydantic import Field

from chassis.inputs import MAX_TEXT
from chassis.settings import ServiceSettings

SERVICES = (
    "profiles",
    "matching",
    "sessions",
    "advisors",
    "insights",
    "notifications",
)


class GatewaySettings(ServiceSettings):
    """One per gateway process; every field can be set from the environment."""

    service_name: str = "gateway"
    # The gateway keeps no state; a database URL is accepted and ignored.
    profiles_url: str = "http://localhost:8001"
    matching_url: str = "http://localhost:8002"
    sessions_url: str = "http://localhost:8003"
    advisors_url: str = "http://localhost:8004"
    insights_url: str = "http://localhost:8005"
    notifications_url: str = "http://localhost:8006"
    # Where clients reach the sessions service (a calendar application fetches the
    # feed there): an absolute URL, or a path on the gateway's own host (the
    # one-process platform mounts sessions at /sessions). Default: ``sessions_url``.
    sessions_public_url: str | None = None
    upstream_timeout_s: float = Field(default=5.0, gt=0)
    # A round started with ``wait`` answers when it has finished: a large cohort's
    # takes seconds (10,000 x 2,000: about 11 s), and a fresh install's first one
    # also compiles the optimiser's kernels.
    round_wait_timeout_s: float = Field(default=120.0, gt=0)
    upstream_connections: int = Field(default=100, ge=1)
    # Protection against abusive queries.
    max_depth: int = Field(default=12, ge=1)
    max_aliases: int = Field(default=30, ge=1)
    max_tokens: int = Field(default=3000, ge=1)
    max_cost: int = Field(default=5000, ge=1)
    # One budget for every operation of one HTTP request (a batch).
    max_request_cost: int = Field(default=5000, ge=1)
    max_batch: int = Field(default=5, ge=1)
    max_directives: int = Field(default=50, ge=0)
    # Strings in arguments and variables (bulk fields such as an inline HRIS
    # export are bounded by the request body limit instead).
    max_string_length: int = Field(default=MAX_TEXT, ge=1)
    max_page_size: int = Field(default=100, ge=1)
    # Persisted (trusted) queries: a JSON file mapping sha256 → document. In
    # production with ``trusted_queries_only`` no other document is executed.
    persisted_queries_file: str | None = None
    trusted_queries_only: bool = False

    def url_of(self, service: str) -> str:
        """Base URL of ``service``."""
        return getattr(self, f"{service}_url").rstrip("/")
