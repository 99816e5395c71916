"""Message wording: built-in templates in en/fr/de, and each tenant's own.

Templates are Jinja2, rendered in a sandbox (``SandboxedEnvironment``: no attribute
of a Python object outside the sandbox's rules, no import, no file) with only the
notification's kind and facts (ids and moments) and a link. A tenant's template is
checked when it is saved (syntax, sandbox); one that still fails when rendered falls
back to the built-in wording, so a bad template never loses a message. The wording
chosen: the tenant's in the person's locale, the built-in one in that locale, then
the tenant's English, then the built-in English.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import jinja2
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from chassis.errors import FieldError, ValidationFailed
from contracts.notifications import Channel, NotificationKind
from services.notifications.projections.inbox import stamp

K = NotificationKind
FALLBACK = "en"
MAX_TEMPLATE = 8000

# (kind, locale) → (subject, body). Facts: see domain/notices.py.
BUILT_IN: dict[tuple[str, str], tuple[str, str]] = {
    (K.PAIRING_PROPOSED, "en"): (
        "You have a proposed mentoring pairing",
        "A mentoring pairing ({{ facts.pairing_id }}) has been proposed to you. "
        "Please accept or decline it before {{ facts.expires_at }}.",
    ),
    (K.PAIRING_PROPOSED, "fr"): (
        "Un binôme de mentorat vous est proposé",
        "Un binôme de mentorat ({{ facts.pairing_id }}) vous est proposé. "
        "Merci de l'accepter ou de le refuser avant le {{ facts.expires_at }}.",
    ),
    (K.PAIRING_PROPOSED, "de"): (
        "Ihnen wurde ein Mentoring-Tandem vorgeschlagen",
        "Ihnen wurde ein Mentoring-Tandem ({{ facts.pairing_id }}) vorgeschlagen. "
        "Bitte nehmen Sie es bis {{ facts.expires_at }} an oder lehnen Sie es ab.",
    ),
    (K.PAIRING_APPROVED, "en"): (
        "Your mentoring pairing was approved",
        "Your programme coordinator approved the pairing {{ facts.pairing_id }}.",
    ),
    (K.PAIRING_APPROVED, "fr"): (
        "Votre binôme de mentorat est approuvé",
        "Votre coordinateur a approuvé le binôme {{ facts.pairing_id }}.",
    ),
    (K.PAIRING_APPROVED, "de"): (
        "Ihr Mentoring-Tandem wurde genehmigt",
        "Ihre Programmkoordination hat das Tandem {{ facts.pairing_id }} genehmigt.",
    ),
    (K.PAIRING_CONFIRMED, "en"): (
        "Your mentoring relationship starts",
        "Both of you accepted: the pairing {{ facts.pairing_id }} is confirmed"
        "{% if facts.starts_on %} and starts on {{ facts.starts_on }}{% endif %}.",
    ),
    (K.PAIRING_CONFIRMED, "fr"): (
        "Votre relation de mentorat commence",
        "Vous avez tous deux accepté : le binôme {{ facts.pairing_id }} est confirmé"
        "{% if facts.starts_on %} et commence le {{ facts.starts_on }}{% endif %}.",
    ),
    (K.PAIRING_CONFIRMED, "de"): (
        "Ihre Mentoring-Beziehung beginnt",
        "Sie haben beide angenommen: Das Tandem {{ facts.pairing_id }} ist bestätigt"
        "{% if facts.starts_on %} und beginnt am {{ facts.starts_on }}{% endif %}.",
    ),
    (K.SESSION_SCHEDULED, "en"): (
        "A mentoring session was scheduled",
        "A session of {{ facts.minutes }} minutes is scheduled for "
        "{{ facts.starts_at }}.",
    ),
    (K.SESSION_SCHEDULED, "fr"): (
        "Une séance de mentorat est planifiée",
        "Une séance de {{ facts.minutes }} minutes est prévue le "
        "{{ facts.starts_at }}.",
    ),
    (K.SESSION_SCHEDULED, "de"): (
        "Eine Mentoring-Sitzung wurde geplant",
        "Eine Sitzung von {{ facts.minutes }} Minuten ist für "
        "{{ facts.starts_at }} geplant.",
    ),
    (K.EARLY_WARNING, "en"): (
        "Time to catch up with your mentoring partner",
        "Your mentoring relationship has been quiet for a while. "
        "Why not schedule your next session?",
    ),
    (K.EARLY_WARNING, "fr"): (
        "Il est temps de reprendre contact avec votre binôme",
        "Votre relation de mentorat est calme depuis un moment. "
        "Pourquoi ne pas planifier votre prochaine séance ?",
    ),
    (K.EARLY_WARNING, "de"): (
        "Zeit, sich mit Ihrem Mentoring-Partner abzustimmen",
        "In Ihrer Mentoring-Beziehung war es eine Weile ruhig. "
        "Planen Sie doch Ihre nächste Sitzung.",
    ),
    # The time-based rules (domain/rules.py).
    (K.SESSION_TOMORROW, "en"): (
        "Your mentoring session is coming up",
        "Reminder: your mentoring session starts at {{ facts.starts_at }}.",
    ),
    (K.SESSION_TOMORROW, "fr"): (
        "Votre séance de mentorat approche",
        "Rappel : votre séance de mentorat commence le {{ facts.starts_at }}.",
    ),
    (K.SESSION_TOMORROW, "de"): (
        "Ihre Mentoring-Sitzung steht bevor",
        "Erinnerung: Ihre Mentoring-Sitzung beginnt am {{ facts.starts_at }}.",
    ),
    (K.MILESTONE_DUE, "en"): (
        "A milestone is due soon",
        "Your milestone {{ facts.milestone_id }} is due on {{ facts.due_on }}.",
    ),
    (K.MILESTONE_DUE, "fr"): (
        "Une étape arrive à échéance",
        "Votre étape {{ facts.milestone_id }} arrive à échéance le {{ facts.due_on }}.",
    ),
    (K.MILESTONE_DUE, "de"): (
        "Ein Meilenstein ist bald fällig",
        "Ihr Meilenstein {{ facts.milestone_id }} ist am {{ facts.due_on }} fällig.",
    ),
    (K.CADENCE_MISSED, "en"): (
        "Your next mentoring session is overdue",
        "You agreed to meet every {{ facts.every_days }} days. "
        "Why not schedule your next session?",
    ),
    (K.CADENCE_MISSED, "fr"): (
        "Votre prochaine séance de mentorat se fait attendre",
        "Vous avez convenu de vous voir tous les {{ facts.every_days }} jours. "
        "Pourquoi ne pas planifier votre prochaine séance ?",
    ),
    (K.CADENCE_MISSED, "de"): (
        "Ihre nächste Mentoring-Sitzung ist überfällig",
        "Sie haben vereinbart, sich alle {{ facts.every_days }} Tage zu treffen. "
        "Planen Sie doch Ihre nächste Sitzung.",
    ),
    (K.MATCH_PULSE, "en"): (
        "How is your mentoring going?",
        "Tell us in a minute how your mentoring relationship is going.",
    ),
    (K.MATCH_PULSE, "fr"): (
        "Comment se passe votre mentorat ?",
        "Dites-nous en une minute comment se passe votre relation de mentorat.",
    ),
    (K.MATCH_PULSE, "de"): (
        "Wie läuft Ihr Mentoring?",
        "Sagen Sie uns in einer Minute, wie Ihre Mentoring-Beziehung läuft.",
    ),
    (K.INACTIVITY_WARNING, "en"): (
        "Answer to keep your mentoring relationship open",
        "Your mentoring relationship has been inactive since "
        "{{ facts.inactive_since }}. Answer to keep it open; otherwise it will be "
        "closed after {{ facts.closes_after }}.",
    ),
    (K.INACTIVITY_WARNING, "fr"): (
        "Répondez pour garder votre relation de mentorat ouverte",
        "Votre relation de mentorat est inactive depuis le "
        "{{ facts.inactive_since }}. Répondez pour la garder ouverte ; sinon elle "
        "sera close après le {{ facts.closes_after }}.",
    ),
    (K.INACTIVITY_WARNING, "de"): (
        "Antworten Sie, um Ihre Mentoring-Beziehung offen zu halten",
        "Ihre Mentoring-Beziehung ist seit {{ facts.inactive_since }} inaktiv. "
        "Antworten Sie, um sie offen zu halten; sonst wird sie nach "
        "{{ facts.closes_after }} geschlossen.",
    ),
    (K.RELATIONSHIP_CLOSED, "en"): (
        "Your mentoring relationship was closed",
        "Your mentoring relationship was closed after a period of inactivity.",
    ),
    (K.RELATIONSHIP_CLOSED, "fr"): (
        "Votre relation de mentorat a été close",
        "Votre relation de mentorat a été close après une période d'inactivité.",
    ),
    (K.RELATIONSHIP_CLOSED, "de"): (
        "Ihre Mentoring-Beziehung wurde geschlossen",
        "Ihre Mentoring-Beziehung wurde nach einer Zeit der Inaktivität geschlossen.",
    ),
    (K.WARNING_PERSISTS, "en"): (
        "An early warning persists",
        "The early warning on relationship {{ facts.relationship_id }}, raised "
        "{{ facts.raised_at }}, is still open.",
    ),
    (K.WARNING_PERSISTS, "fr"): (
        "Une alerte précoce persiste",
        "L'alerte précoce sur la relation {{ facts.relationship_id }}, levée le "
        "{{ facts.raised_at }}, est toujours ouverte.",
    ),
    (K.WARNING_PERSISTS, "de"): (
        "Eine Frühwarnung besteht fort",
        "Die Frühwarnung zur Beziehung {{ facts.relationship_id }} vom "
        "{{ facts.raised_at }} besteht weiterhin.",
    ),
    (K.RECOMMENDATION_AWAITING, "en"): (
        "A council recommendation awaits your decision",
        "The recommendation {{ facts.recommendation_id }} of council "
        "{{ facts.council_id }}, made {{ facts.made_at }}, has not been decided yet. "
        "Please accept or reject it.",
    ),
    (K.RECOMMENDATION_AWAITING, "fr"): (
        "Une recommandation du conseil attend votre décision",
        "La recommandation {{ facts.recommendation_id }} du conseil "
        "{{ facts.council_id }}, faite le {{ facts.made_at }}, n'est pas encore "
        "décidée. Merci de l'accepter ou de la rejeter.",
    ),
    (K.RECOMMENDATION_AWAITING, "de"): (
        "Eine Empfehlung des Beirats wartet auf Ihre Entscheidung",
        "Die Empfehlung {{ facts.recommendation_id }} des Beirats "
        "{{ facts.council_id }} vom {{ facts.made_at }} ist noch nicht entschieden. "
        "Bitte nehmen Sie sie an oder lehnen Sie sie ab.",
    ),
    (K.WEBHOOK_DISABLED, "en"): (
        "A webhook endpoint was disabled",
        "The webhook endpoint {{ facts.url }} failed since {{ facts.failing_since }} "
        "and was disabled; its messages wait. Fix it, then enable it again.",
    ),
    (K.WEBHOOK_DISABLED, "fr"): (
        "Un point de terminaison webhook a été désactivé",
        "Le point de terminaison {{ facts.url }} échoue depuis "
        "{{ facts.failing_since }} et a été désactivé ; ses messages attendent. "
        "Corrigez-le puis réactivez-le.",
    ),
    (K.WEBHOOK_DISABLED, "de"): (
        "Ein Webhook-Endpunkt wurde deaktiviert",
        "Der Webhook-Endpunkt {{ facts.url }} schlägt seit {{ facts.failing_since }} "
        "fehl und wurde deaktiviert; seine Nachrichten warten. Beheben Sie den "
        "Fehler und aktivieren Sie ihn wieder.",
    ),
}

DIGEST: dict[str, str] = {
    "en": "Your mentoring digest: {{ count }} update(s)",
    "fr": "Votre résumé de mentorat : {{ count }} nouvelle(s)",
    "de": "Ihre Mentoring-Zusammenfassung: {{ count }} Neuigkeit(en)",
}


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str


def _environment() -> SandboxedEnvironment:
    return SandboxedEnvironment(
        autoescape=False,  # plain text; HTML channels escape in their own builder
        undefined=jinja2.ChainableUndefined,
        trim_blocks=True,
    )


def check(subject: str, body: str) -> None:
    """Refuse a template that does not compile (422, naming the part)."""
    env = _environment()
    errors = []
    for path, source in (("subject", subject), ("body", body)):
        if len(source) > MAX_TEMPLATE:
            errors.append(FieldError(path, f"at most {MAX_TEMPLATE} characters"))
            continue
        try:
            env.from_string(source)
        except jinja2.TemplateSyntaxError as exc:
            errors.append(FieldError(path, f"line {exc.lineno}: {exc.message}"))
    if errors:
        raise ValidationFailed(errors)


class Templates:
    """Renders a notification's message for a channel, in the person's locale."""

    def __init__(self, engine: AsyncEngine, link: str | None = None) -> None:
        self.engine = engine
        self.link = link
        self.env = _environment()

    async def _tenants(
        self, conn: AsyncConnection, tenant: str, kind: str, channel: Channel
    ) -> dict[str, tuple[str, str]]:
        rows = await conn.execute(
            text(
                "SELECT locale, subject, body FROM notification_templates "
                "WHERE tenant = :t AND kind = :k AND channel = :c"
            ),
            {"t": tenant, "k": kind, "c": str(channel)},
        )
        return {r.locale: (r.subject, r.body) for r in rows}

    def _render(
        self, template: tuple[str, str], context: Mapping[str, object]
    ) -> Rendered:
        subject, body = template
        return Rendered(
            " ".join(self.env.from_string(subject).render(context).split()),
            self.env.from_string(body).render(context),
        )

    async def render(
        self,
        conn: AsyncConnection,
        *,
        tenant: str,
        kind: str,
        channel: Channel,
        locale: str,
        facts: Mapping[str, str],
    ) -> Rendered:
        own = await self._tenants(conn, tenant, kind, channel)
        context = {"kind": kind, "facts": dict(facts), "link": self.link}
        candidates = [
            own.get(locale),
            BUILT_IN.get((kind, locale)),
            own.get(FALLBACK),
            BUILT_IN.get((kind, FALLBACK)),
        ]
        for template in candidates:
            if template is None:
                continue
            try:
                return self._render(template, context)
            except jinja2.TemplateError:
                continue  # a tenant's template that fails: the next wording
        return Rendered(kind, "")

    def digest_subject(self, locale: str, count: int) -> str:
        source = DIGEST.get(locale, DIGEST[FALLBACK])
        return self.env.from_string(source).render(count=count)

    async def save(
        self,
        tenant: str,
        kind: NotificationKind,
        channel: Channel,
        locale: str,
        subject: str,
        body: str,
        at: datetime,
    ) -> None:
        check(subject, body)
        async with self.engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO notification_templates (tenant, kind, channel, "
                    "locale, subject, body, updated_at) VALUES (:t, :k, :c, :l, :s, "
                    ":b, :at) ON CONFLICT (tenant, kind, channel, locale) DO UPDATE "
                    "SET subject = excluded.subject, body = excluded.body, "
                    "updated_at = excluded.updated_at"
                ),
                {
                    "t": tenant,
                    "k": str(kind),
                    "c": str(channel),
                    "l": locale,
                    "s": subject,
                    "b": body,
                    "at": stamp(at),
                },
            )
