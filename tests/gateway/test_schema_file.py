"""``schema.graphql`` is the reviewed public contract: it must equal the code's schema,
and a change that can break clients must have been accepted on purpose."""

from __future__ import annotations

from graphql import build_schema

from gateway.schema_export import SCHEMA_FILE, breaking_changes, current_sdl


def test_the_committed_schema_has_no_unreviewed_breaking_change():
    changes = breaking_changes(SCHEMA_FILE.read_text(), current_sdl())
    assert changes == [], (
        "breaking schema changes: "
        + "; ".join(c.description for c in changes)
        + " — review them, then `python -m gateway.schema_export --accept-breaking`"
    )


def test_the_committed_schema_is_up_to_date():
    assert SCHEMA_FILE.read_text() == current_sdl(), (
        "schema.graphql is out of date: run `python -m gateway.schema_export`"
    )


def test_the_breaking_change_check_catches_a_removed_field():
    old = "type Query { a: Int, b: Int }"
    new = "type Query { a: Int }"
    assert [c.type.name for c in breaking_changes(old, new)] == ["FIELD_REMOVED"]
    assert breaking_changes(new, old) == []
    build_schema(SCHEMA_FILE.read_text())  # the committed file is valid SDL


def test_every_type_and_field_is_described():
    schema = build_schema(SCHEMA_FILE.read_text())
    missing = []
    for name, t in schema.type_map.items():
        if name.startswith("__") or name in {"String", "Int", "Float", "Boolean", "ID"}:
            continue
        if not t.description:
            missing.append(name)
        for fname, f in (getattr(t, "fields", None) or {}).items():
            if not f.description:
                missing.append(f"{name}.{fname}")
            for aname, a in (getattr(f, "args", None) or {}).items():
                if not a.description:
                    missing.append(f"{name}.{fname}({aname})")
    assert missing == []
