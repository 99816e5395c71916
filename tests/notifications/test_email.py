"""Email over a real SMTP server on loopback (aiosmtpd, STARTTLS required)."""

from __future__ import annotations

from sqlalchemy import text

from services.notifications.application.outbox import Outbox
from tests.notifications.conftest import (
    event,
    person_token,
    proposed,
    publish,
    until_applied,
)
from tests.notifications.receivers import smtp_receiver
from tests.profiles.conftest import token
from tests.support.waiting import until


def _smtp(receiver, **more) -> dict[str, object]:
    return {
        "NOTIFICATIONS_SMTP_HOST": "127.0.0.1",
        "NOTIFICATIONS_SMTP_PORT": receiver.port,
        "NOTIFICATIONS_SMTP_CA_FILE": str(receiver.ca_file),
        "NOTIFICATIONS_SMTP_FROM": "programme@acme.example",
        **more,
    }


async def _choose(client, tenant, person, **chosen) -> None:
    body = {"channels": ["email"], "email": f"{person}@acme.example", **chosen}
    resp = await client.put(
        "/notifications/me/preferences",
        json=body,
        headers=person_token(tenant, person),
    )
    assert resp.status_code == 200, resp.text


async def _deliveries(app, tenant: str) -> list:
    async with app.state.runtime.engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT recipient_id, status, attempts, last_error, next_attempt_at "
                "FROM deliveries WHERE tenant = :t ORDER BY recipient_id"
            ),
            {"t": tenant},
        )
        return list(rows)


async def _all_sent(app, tenant: str, count: int) -> list | None:
    rows = await _deliveries(app, tenant)
    return (
        rows if len(rows) == count and all(r.status == "sent" for r in rows) else None
    )


async def test_an_email_goes_out_over_starttls_once_in_the_persons_language(
    notifications_with, kafka_bootstrap, tenant, tmp_path
):
    with smtp_receiver(tmp_path) as smtp:
        async with notifications_with(**_smtp(smtp)) as (app, client):
            await _choose(client, tenant, "mentee-1", locale="fr")
            await _choose(client, tenant, "mentor-1", locale="de")
            msg = proposed(tenant, "mentor-1", "mentee-1", pairing_id="pairing-e1")
            await until_applied(app, await publish(kafka_bootstrap, [msg, msg]))
            await until(
                lambda: len(smtp.mailbox.messages) >= 2, "two emails", timeout_s=30
            )
            fr = smtp.mailbox.to("mentee-1@acme.example")
            de = smtp.mailbox.to("mentor-1@acme.example")
            assert len(fr) == len(de) == 1
            assert fr[0]["Subject"] == "Un binôme de mentorat vous est proposé"
            assert "pairing-e1" in fr[0].get_content()
            assert de[0]["Subject"].startswith("Ihnen wurde")
            assert fr[0]["From"] == "programme@acme.example"
            assert all(smtp.mailbox.tls_seen)  # every message after STARTTLS
            # nothing about the score or the other person
            text_fr = fr[0].get_content()
            assert "mentor-1" not in text_fr and "0.8" not in text_fr
            # the server has the message before the outbox records it as sent
            rows = await until(lambda: _all_sent(app, tenant, 2), "both recorded", 30)
            assert [(r.status, r.attempts) for r in rows] == [("sent", 1), ("sent", 1)]
            assert len(smtp.mailbox.messages) == 2  # the redelivered event: no more


async def test_a_refusing_receiver_never_holds_up_the_others_and_dies_after_its_tries(
    notifications_with, kafka_bootstrap, tenant, tmp_path
):
    with smtp_receiver(tmp_path) as smtp:
        smtp.mailbox.refuse.add("mentee-2@acme.example")
        settings = _smtp(
            smtp, NOTIFICATIONS_RETRY_BASE_S=0.05, NOTIFICATIONS_RETRY_MAX_ATTEMPTS=3
        )
        async with notifications_with(**settings) as (app, client):
            await _choose(client, tenant, "mentee-2")
            await _choose(client, tenant, "mentor-2")
            msg = proposed(tenant, "mentor-2", "mentee-2")
            await until_applied(app, await publish(kafka_bootstrap, [msg]))

            async def settled():
                rows = await _deliveries(app, tenant)
                return {r.recipient_id: r for r in rows if r.status != "pending"}

            done = await until(
                lambda: _both(settled), "both deliveries settled", timeout_s=30
            )
            assert done["mentor-2"].status == "sent"
            dead = done["mentee-2"]
            assert dead.status == "dead" and dead.attempts == 3
            assert "451" in dead.last_error
            assert len(smtp.mailbox.to("mentor-2@acme.example")) == 1
            assert smtp.mailbox.to("mentee-2@acme.example") == []


async def _both(settled):
    found = await settled()
    return found if len(found) == 2 else None


async def test_a_server_down_for_a_while_loses_nothing(
    notifications_with, kafka_bootstrap, tenant, tmp_path
):
    with smtp_receiver(tmp_path, started=False) as smtp:
        # retried often, and for long enough that none gives up meanwhile
        settings = _smtp(
            smtp,
            NOTIFICATIONS_RETRY_BASE_S=0.05,
            NOTIFICATIONS_RETRY_MAX_ATTEMPTS=100,
            retry_cap_s=0.5,
        )
        async with notifications_with(**settings) as (app, client):
            people = [f"p{n}" for n in range(6)]
            for person in people:
                await _choose(client, tenant, person)
            messages = [
                proposed(tenant, people[n], people[n + 1]) for n in range(0, 6, 2)
            ]
            await until_applied(app, await publish(kafka_bootstrap, messages))

            async def retried():
                rows = await _deliveries(app, tenant)
                return len(rows) == 6 and all(r.attempts >= 2 for r in rows)

            await until(retried, "every delivery to fail twice", timeout_s=30)
            assert smtp.mailbox.messages == []
            smtp.start()
            await until(
                lambda: len(smtp.mailbox.messages) >= 6, "six emails", timeout_s=60
            )
            rows = await until(lambda: _all_sent(app, tenant, 6), "all recorded", 30)
            assert {r.status for r in rows} == {"sent"}
            assert sorted(m["To"] for m in smtp.mailbox.messages) == sorted(
                f"{p}@acme.example" for p in people
            )


async def test_a_tenants_template_is_sandboxed_and_falls_back_to_english(
    notifications_with, kafka_bootstrap, tenant, tmp_path
):
    with smtp_receiver(tmp_path) as smtp:
        async with notifications_with(**_smtp(smtp)) as (app, client):
            coordinator = token(tenant, "coordinator")
            url = "/notifications/templates/pairing_proposed/email"
            ok = {"subject": "Acme: new pairing {{ facts.pairing_id }}", "body": "Hi!"}
            assert (
                await client.put(f"{url}/en", json=ok, headers=coordinator)
            ).status_code == 200
            # a template that breaks out of the sandbox when rendered
            escape = {
                "subject": "{{ ''.__class__.__mro__[1].__subclasses__() }}",
                "body": "x",
            }
            assert (
                await client.put(f"{url}/de", json=escape, headers=coordinator)
            ).status_code == 200
            for bad in (
                {"subject": "{% if %}", "body": "x"},
                {"subject": "", "body": "x"},
            ):
                resp = await client.put(f"{url}/fr", json=bad, headers=coordinator)
                assert resp.status_code == 422, resp.text
            resp = await client.put(
                f"{url}/en", json=ok, headers=person_token(tenant, "x")
            )
            assert resp.status_code == 403
            resp = await client.put(f"{url}/xx", json=ok, headers=coordinator)
            assert resp.status_code == 422

            await _choose(client, tenant, "mentee-4", locale="de")
            await _choose(client, tenant, "mentor-4", locale="en")
            msg = proposed(tenant, "mentor-4", "mentee-4", pairing_id="pe4")
            await until_applied(app, await publish(kafka_bootstrap, [msg]))
            await until(lambda: len(smtp.mailbox.messages) >= 2, "two emails", 30)
            (en,) = smtp.mailbox.to("mentor-4@acme.example")
            assert en["Subject"] == "Acme: new pairing pe4"
            # the German override fails in the sandbox: the built-in German wording
            (de,) = smtp.mailbox.to("mentee-4@acme.example")
            assert (
                de["Subject"].startswith("Ihnen wurde") and "class" not in de["Subject"]
            )
            # another organisation keeps the built-in English
            other = f"{tenant}-b"
            await _choose(client, other, "mentor-5")
            msg = proposed(other, "mentor-5", "mentee-5", pairing_id="pe5")
            await until_applied(app, await publish(kafka_bootstrap, [msg]))
            await until(lambda: smtp.mailbox.to("mentor-5@acme.example"), "email", 30)
            assert smtp.mailbox.to("mentor-5@acme.example")[0]["Subject"] == (
                "You have a proposed mentoring pairing"
            )


async def test_quiet_hours_and_the_digest_hold_what_is_not_required(
    notifications_with, kafka_bootstrap, tenant, tmp_path
):
    with smtp_receiver(tmp_path) as smtp:
        async with notifications_with(**_smtp(smtp)) as (app, client):
            # quiet all day but a minute: the warning waits; the digest gathers
            await _choose(
                client,
                tenant,
                "mentee-6",
                quiet_hours={"start": "00:00", "end": "23:59"},
            )
            await _choose(client, tenant, "mentor-6", daily_digest=True)
            warnings = [
                event(
                    "insights",
                    "EarlyWarningRaised",
                    f"r{n}",
                    {
                        "relationship_id": f"r{n}",
                        "mentor_id": "mentor-6",
                        "mentee_id": "mentee-6",
                        "level": "idle",
                        "reasons": [],
                    },
                    tenant=tenant,
                )
                for n in range(2)
            ]
            proposal = proposed(tenant, "mentor-6", "mentee-6", pairing_id="pq6")
            await until_applied(
                app, await publish(kafka_bootstrap, [*warnings, proposal])
            )
            # the proposal is required: it skips the digest at once for the mentor
            await until(lambda: smtp.mailbox.to("mentor-6@acme.example"), "email", 30)
            assert [m["Subject"] for m in smtp.mailbox.to("mentor-6@acme.example")] == [
                "You have a proposed mentoring pairing"
            ]
            rows = await _deliveries(app, tenant)
            held = [r for r in rows if r.status == "pending"]
            assert len(held) >= 2  # the mentor's two digest items (and quiet ones)

            # eight o'clock comes: the digest goes out as one message (the
            # dispatcher, asleep until then, is woken as the hour would wake it)
            async with app.state.runtime.engine.begin() as conn:
                await conn.execute(
                    text(
                        "UPDATE deliveries SET next_attempt_at = '2000-01-01' "
                        "WHERE tenant = :t AND recipient_id = 'mentor-6' "
                        "AND status = 'pending'"
                    ),
                    {"t": tenant},
                )
                await app.state.service.provide(Outbox).waker.notify(conn)
            await until(
                lambda: len(smtp.mailbox.to("mentor-6@acme.example")) >= 2, "digest", 30
            )
            digest = smtp.mailbox.to("mentor-6@acme.example")[1]
            assert digest["Subject"] == "Your mentoring digest: 2 update(s)"
            assert digest.get_content().count("quiet") == 2
            assert app.state.service.provide(Outbox) is not None
