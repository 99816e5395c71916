"""The services the launcher runs, by module path of their composition root.

Each module exposes ``build_app(settings=None, *, transport=None) -> FastAPI`` and a
``Settings`` class. A service joins the embedded platform by being listed here.
"""

SERVICES: dict[str, str] = {
    "profiles": "services.profiles.main",
    "matching": "services.matching.main",
    "sessions": "services.sessions.main",
    "advisors": "services.advisors.main",
    "insights": "services.insights.main",
    "notifications": "services.notifications.main",
}
