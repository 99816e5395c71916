"""HTTP edge of a service: app factory, problem details, probes, request ids."""

from chassis.http.app import create_app
from chassis.http.context import metadata_for
from chassis.http.health import ReadinessCheck
from chassis.http.problems import PROBLEM_JSON, is_database_outage, problem_response
from chassis.http.request_id import REQUEST_ID_HEADER, current_request_id

__all__ = [
    "PROBLEM_JSON",
    "REQUEST_ID_HEADER",
    "ReadinessCheck",
    "create_app",
    "current_request_id",
    "is_database_outage",
    "metadata_for",
    "problem_response",
]
