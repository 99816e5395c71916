"""The app factory: probes, problem details, request ids, database outages."""

from __future__ import annotations

import asyncio
import logging
import socket

import httpx
import pytest
import sqlalchemy.exc
from fastapi import APIRouter, FastAPI
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from chassis.errors import ConcurrencyConflict, FieldError, NotFound, ValidationFailed
from chassis.http import create_app, current_request_id
from chassis.settings import ServiceSettings

PROBLEM = "application/problem+json"
router = APIRouter()


class NewPerson(BaseModel):
    email: str
    weekly_hours: int


@router.post("/people")
async def add_person(person: NewPerson) -> dict[str, str]:
    return {"email": person.email}


@router.get("/invalid")
async def invalid() -> None:
    raise ValidationFailed([FieldError("body.email", "not an e-mail address")])


@router.get("/people/{person_id}")
async def missing(person_id: str) -> None:
    raise NotFound(f"person {person_id} not found")


@router.post("/pairings/{pairing_id}/approve")
async def stale(pairing_id: str) -> None:
    raise ConcurrencyConflict(f"pairing-{pairing_id}", 3, 4)


@router.get("/bug")
async def bug() -> None:
    raise RuntimeError("password=hunter2 leaked in a bug")


@router.get("/file-bug")
async def file_bug() -> None:
    open("/nonexistent/tandem/config.toml")  # noqa: ASYNC230 - the bug under test


@router.get("/request-id")
async def request_id() -> dict[str, str | None]:
    return {"request_id": current_request_id()}


@router.get("/db-operational")
async def db_operational() -> None:
    raise sqlalchemy.exc.OperationalError(
        "SELECT 1", {}, ConnectionRefusedError("connection refused")
    )


@router.get("/db-sqlite")
async def db_sqlite() -> None:
    # A real driver failure: SQLite cannot open a file in a missing directory.
    engine = create_async_engine("sqlite+aiosqlite:////nonexistent/dir/tandem.db")
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    finally:
        await engine.dispose()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@router.get("/db-refused")
async def db_refused() -> None:
    # asyncpg raises a bare ConnectionRefusedError when nothing listens on the port.
    url = f"postgresql+asyncpg://tandem:x@127.0.0.1:{closed_port()}/tandem"
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    finally:
        await engine.dispose()


def settings(environment: str = "test") -> ServiceSettings:
    return ServiceSettings(
        service_name="http-test",
        environment=environment,
        jwt_secret="a-real-secret-for-the-http-tests-0123456789",
    )


def make_app(**kwargs: object) -> FastAPI:
    return create_app(
        settings(), title="http test", version="1.2.3", routers=[router], **kwargs
    )


async def call(
    app: FastAPI, method: str, path: str, **kwargs: object
) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        return await c.request(method, path, **kwargs)


def assert_problem(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"] == f"urn:tandem:error:{code}"
    assert body["title"]
    assert body["request_id"] == response.headers["x-request-id"]
    return body


async def test_healthz_is_ok_even_when_a_dependency_is_down() -> None:
    async def database() -> None:
        raise ConnectionRefusedError("database down")

    response = await call(
        make_app(readiness_checks={"database": database}), "GET", "/healthz"
    )
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_is_ok_when_every_check_passes() -> None:
    async def database() -> None:
        return None

    async def broker() -> None:
        return None

    app = make_app(readiness_checks={"database": database, "broker": broker})
    response = await call(app, "GET", "/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "broker": "ok"},
    }


async def test_readyz_is_503_naming_the_failing_check() -> None:
    async def database() -> None:
        return None

    async def broker() -> None:
        raise ConnectionRefusedError("kafka:9092 refused the connection")

    app = make_app(readiness_checks={"database": database, "broker": broker})
    response = await call(app, "GET", "/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "ok"
    assert "kafka:9092 refused" in body["checks"]["broker"]


async def test_readyz_bounds_a_hanging_check() -> None:
    async def hangs() -> None:
        await asyncio.Event().wait()

    app = make_app(readiness_checks={"consumer": hangs}, readiness_timeout_s=0.05)
    response = await call(app, "GET", "/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["consumer"].startswith("timed out")


async def test_checks_added_after_startup_are_run() -> None:
    app = make_app()

    async def late() -> None:
        raise RuntimeError("consumer not started")

    app.state.readiness_checks["consumer"] = late
    response = await call(app, "GET", "/readyz")
    assert response.status_code == 503
    assert "consumer not started" in response.json()["checks"]["consumer"]


async def test_validation_failed_is_422_problem() -> None:
    response = await call(make_app(), "GET", "/invalid")
    body = assert_problem(response, 422, "ValidationError")
    assert body["errors"] == [
        {"path": "body.email", "message": "not an e-mail address"}
    ]
    assert body["instance"] == "/invalid"


async def test_not_found_is_404_problem() -> None:
    response = await call(make_app(), "GET", "/people/p-42")
    body = assert_problem(response, 404, "NotFound")
    assert body["detail"] == "person p-42 not found"
    assert body["instance"] == "/people/p-42"


async def test_concurrency_conflict_is_409_problem() -> None:
    response = await call(make_app(), "POST", "/pairings/7/approve")
    body = assert_problem(response, 409, "ConcurrencyConflict")
    assert body["stream_id"] == "pairing-7"
    assert body["expected_version"] == 3
    assert body["actual_version"] == 4


async def test_body_validation_error_lists_field_paths() -> None:
    response = await call(make_app(), "POST", "/people", json={"weekly_hours": "many"})
    body = assert_problem(response, 422, "ValidationError")
    paths = {error["path"] for error in body["errors"]}
    assert paths == {"body.email", "body.weekly_hours"}
    assert all(error["message"] for error in body["errors"])


async def test_unknown_route_and_wrong_method_are_problems() -> None:
    app = make_app()
    assert_problem(await call(app, "GET", "/nowhere"), 404, "NotFound")
    response = await call(app, "DELETE", "/people")
    assert_problem(response, 405, "MethodNotAllowed")
    assert "POST" in response.headers["allow"]


async def test_unexpected_exception_is_500_without_leaking(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR, logger="chassis.http"):
        response = await call(make_app(), "GET", "/bug")
    body = assert_problem(response, 500, "InternalError")
    assert "hunter2" not in response.text
    assert "RuntimeError" not in response.text
    # The operator can find the real error by the id the caller was given.
    logged = [r for r in caplog.records if body["request_id"] in r.getMessage()]
    assert logged and "hunter2" in str(logged[0].exc_info[1])


async def test_an_unrelated_os_error_is_still_a_bug() -> None:
    assert_problem(await call(make_app(), "GET", "/file-bug"), 500, "InternalError")


async def test_request_id_passed_in_is_echoed_and_visible_to_the_handler() -> None:
    response = await call(
        make_app(), "GET", "/request-id", headers={"X-Request-ID": "gw-123.abc"}
    )
    assert response.headers["x-request-id"] == "gw-123.abc"
    assert response.json() == {"request_id": "gw-123.abc"}


async def test_request_id_is_generated_when_absent_or_unsafe() -> None:
    app = make_app()
    fresh = await call(app, "GET", "/request-id")
    unsafe = await call(
        app, "GET", "/request-id", headers={"X-Request-ID": 'bad id"<script>'}
    )
    for response in (fresh, unsafe):
        generated = response.headers["x-request-id"]
        assert generated and generated == response.json()["request_id"]
    assert unsafe.headers["x-request-id"] != 'bad id"<script>'
    assert fresh.headers["x-request-id"] != unsafe.headers["x-request-id"]


async def test_request_id_is_echoed_on_problem_responses() -> None:
    response = await call(
        make_app(), "GET", "/people/p-1", headers={"X-Request-ID": "trace-me"}
    )
    assert response.headers["x-request-id"] == "trace-me"
    assert response.json()["request_id"] == "trace-me"


@pytest.mark.parametrize("path", ["/db-operational", "/db-sqlite", "/db-refused"])
async def test_database_outage_is_503_with_retry_after(path: str) -> None:
    response = await call(make_app(), "GET", path)
    body = assert_problem(response, 503, "ServiceUnavailable")
    assert int(response.headers["retry-after"]) > 0
    assert body["retry_after_s"] == int(response.headers["retry-after"])
    assert "nonexistent" not in response.text  # driver text stays in the log


async def test_openapi_is_served_and_docs_only_outside_production() -> None:
    development = make_app()
    production = create_app(settings("production"), title="t", version="1")
    spec = await call(development, "GET", "/openapi.json")
    assert spec.status_code == 200
    assert spec.json()["info"]["version"] == "1.2.3"
    assert "/people" in spec.json()["paths"]
    assert (await call(development, "GET", "/docs")).status_code == 200
    assert (await call(production, "GET", "/openapi.json")).status_code == 200
    assert (await call(production, "GET", "/docs")).status_code == 404


async def test_settings_and_verifier_are_on_app_state() -> None:
    app = make_app()
    assert app.state.settings.service_name == "http-test"
    assert app.state.token_verifier.audience == "tandem"
