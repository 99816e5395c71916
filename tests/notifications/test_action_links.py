"""Signed action links, from the attacker's side: a link does its one thing once, for
its person, and nothing else; expired, reused or altered links do nothing at all.

The owning services (matching, sessions) are a receiver on loopback that records what
it is asked and by whom; the notifications service runs on real PostgreSQL and Kafka.
"""

from __future__ import annotations

import base64
import json
from contextlib import asynccontextmanager

import jwt
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from chassis.auth.revocation import DEACTIVATED, reinstate, revoke
from chassis.settings import DEFAULT_DEV_SECRET
from services.notifications.application.actions import ActionLinks
from services.notifications.domain.actions import Action
from tests.gateway.platform import served


class Owner:
    """Matching and sessions as far as the links reach them."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict, dict]] = []
        self.status = 200
        self.app = FastAPI()

        @self.app.post("/{path:path}")
        async def anything(path: str, request: Request) -> JSONResponse:
            claims = jwt.decode(
                request.headers["authorization"].removeprefix("Bearer "),
                DEFAULT_DEV_SECRET,
                algorithms=["HS256"],
                audience="tandem",
            )
            self.calls.append(("POST", "/" + path, await request.json(), claims))
            return JSONResponse({"ok": True}, status_code=self.status)


@pytest.fixture
async def acting(notifications_with):
    owner = Owner()

    @asynccontextmanager
    async def run():
        async with served(owner.app) as url:
            async with notifications_with(MATCHING_URL=url, SESSIONS_URL=url) as (
                app,
                client,
            ):
                links = app.state.service.provide(ActionLinks)
                yield owner, links, client

    async with run() as ctx:
        yield ctx


def _token(url: str) -> str:
    return url.rsplit("/", 1)[1]


async def test_a_link_does_its_one_thing_once(acting):
    owner, links, client = acting
    url = links.mint("t1", "mentee-1", "mentee", Action.ACCEPT_PAIRING, "pair-1")
    path = "/notifications/act/" + _token(url)

    shown = await client.get(path)
    assert shown.status_code == 200, shown.text
    assert shown.json()["action"] == "accept_pairing"
    assert shown.json()["subject_id"] == "pair-1"
    page = await client.get(path, headers={"accept": "text/html"})
    assert "<form method='post'>" in page.text
    assert owner.calls == []  # looking (or a mail scanner's prefetch) does nothing

    done = await client.post(path)
    assert done.status_code == 200, done.text
    assert done.headers["cache-control"] == "no-store"
    [(method, called, body, claims)] = owner.calls
    assert (method, called, body) == ("POST", "/pairings/pair-1/accept", {})
    assert claims["sub"] == "mentee-1" and claims["tenant"] == "t1"
    assert claims["roles"] == ["mentee"] and claims["exp"] - claims["iat"] <= 60

    again = await client.post(path)
    assert again.status_code == 410 and again.json()["code"] == "ActionLinkGone"
    assert (await client.get(path)).status_code == 410
    assert len(owner.calls) == 1


async def test_an_expired_link_is_gone(acting):
    owner, links, client = acting
    url = links.mint("t1", "p1", "mentor", Action.DECLINE_PAIRING, "pair-2", ttl_s=-1)
    for method in ("GET", "POST"):
        resp = await client.request(method, "/notifications/act/" + _token(url))
        assert resp.status_code == 410, resp.text
    assert owner.calls == []


def _forge(token: str, **changes) -> str:
    body, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims.update(changes)
    raw = json.dumps(claims, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=") + "." + sig


@pytest.mark.parametrize(
    "change",
    [
        {"a": "decline_pairing"},  # another action
        {"s": "pair-of-someone-else"},  # another subject
        {"p": "admin-1"},  # another person
        {"r": "admin"},  # another role
        {"t": "another-tenant"},  # another organisation
        {"x": 4102444800},  # a longer life
        {"n": "fresh-nonce"},  # a second use
    ],
)
async def test_an_altered_link_is_refused_and_does_nothing(acting, change):
    owner, links, client = acting
    token = _token(links.mint("t1", "p1", "mentee", Action.ACCEPT_PAIRING, "pair-3"))
    forged = _forge(token, **change)
    for method in ("GET", "POST"):
        resp = await client.request(method, "/notifications/act/" + forged)
        assert resp.status_code == 403, resp.text
        assert resp.json()["code"] == "ActionLinkInvalid"
    assert owner.calls == []
    # the genuine link still works once
    assert (await client.post("/notifications/act/" + token)).status_code == 200


@pytest.mark.parametrize(
    "junk",
    ["x", "a.b", "..", "%2e%2e", "Zm9v.", "." + "A" * 43, "A" * 2048],
)
async def test_junk_and_a_link_of_another_key_are_refused(acting, junk):
    owner, links, client = acting
    resp = await client.post("/notifications/act/" + junk)
    assert resp.status_code in (403, 404, 422), resp.text
    other = ActionLinks(
        links.engine,
        b"another key",
        base_url="http://x",
        post=links.post,
        mint_for=links.mint_for,
    )
    foreign = _token(other.mint("t1", "p1", "mentee", Action.ACCEPT_PAIRING, "p"))
    assert (await client.post("/notifications/act/" + foreign)).status_code == 403
    assert owner.calls == []


async def test_each_action_reaches_its_owner_with_only_its_body(acting):
    owner, links, client = acting
    for action, subject, answers in (
        (Action.DECLINE_PAIRING, "pair-4", ()),
        (Action.CONFIRM_SESSION, "sess-1", ()),
        (Action.ANSWER_PULSE, "survey-1", (4, 5)),
    ):
        url = links.mint("t1", "p1", "mentee", action, subject, answers=answers)
        assert (
            await client.post("/notifications/act/" + _token(url))
        ).status_code == 200
    assert [(c[1], c[2]) for c in owner.calls] == [
        ("/pairings/pair-4/decline", {"reason": "declined from a notification"}),
        ("/sessions/sess-1/held", {}),
        ("/pulse-surveys/survey-1/responses", {"answers": [4, 5]}),
    ]


async def test_a_refusal_spends_the_link_and_an_outage_does_not(acting):
    owner, links, client = acting
    owner.status = 409
    refused = _token(links.mint("t1", "p1", "mentee", Action.ACCEPT_PAIRING, "pr"))
    resp = await client.post("/notifications/act/" + refused)
    assert resp.status_code == 409 and resp.json()["code"] == "ActionRefused"
    assert (await client.post("/notifications/act/" + refused)).status_code == 410

    owner.status = 503
    down = _token(links.mint("t1", "p1", "mentee", Action.ACCEPT_PAIRING, "pd"))
    assert (await client.post("/notifications/act/" + down)).status_code == 503
    owner.status = 200
    assert (await client.post("/notifications/act/" + down)).status_code == 200
    assert (await client.post("/notifications/act/" + down)).status_code == 410


async def test_the_chat_buttons_and_the_email_carry_the_recipients_links(acting):
    from contracts.notifications import Channel
    from services.notifications.projections.outbox import Claimed

    owner, links, client = acting
    approved = Claimed(
        "d1",
        "t1",
        "n1",
        "mentee-7",
        Channel.SLACK,
        False,
        0,
        kind="pairing_approved",
        facts={"pairing_id": "pair-7"},
    )
    buttons = links.buttons_for(approved)
    assert [b.title for b in buttons] == ["Accept", "Decline"]
    assert all("/notifications/act/" in b.url for b in buttons)
    proposed = Claimed(
        "d2",
        "t1",
        "n2",
        "mentee-7",
        Channel.SLACK,
        False,
        0,
        kind="pairing_proposed",
        facts={"pairing_id": "pair-7"},
    )
    assert links.buttons_for(proposed) == []  # not the person's to accept yet

    accept = await client.post("/notifications/act/" + _token(buttons[0].url))
    assert accept.status_code == 200
    [(_, called, _, claims)] = owner.calls
    assert called == "/pairings/pair-7/accept" and claims["sub"] == "mentee-7"
    assert claims["roles"] == ["participant"]  # no programme role beyond the person


async def test_a_deactivated_persons_link_does_nothing(acting):
    """A link is a credential: refused like a bearer token once its person is
    deactivated, before anything is done or its nonce spent."""
    owner, links, client = acting
    url = links.mint("t1", "mentee-9", "mentee", Action.ACCEPT_PAIRING, "pair-9")
    path = "/notifications/act/" + _token(url)
    async with links.engine.begin() as conn:
        await revoke(conn, "t1", "mentee-9", DEACTIVATED)
    for answer in (await client.get(path), await client.post(path)):
        assert answer.status_code == 410, answer.text
        assert answer.json()["code"] == "ActionLinkGone"
    assert owner.calls == []
    async with links.engine.begin() as conn:
        await reinstate(conn, "t1", "mentee-9")
    assert (await client.post(path)).status_code == 200  # the nonce was not spent
    assert len(owner.calls) == 1
