"""SCIM PATCH: a PatchOp's operations applied to a user record."""

from __future__ import annotations

from services.profiles.application.scim.errors import ScimError
from services.profiles.application.scim.mapping import UserRecord, write
from services.profiles.application.scim.protocol import PATCH_OP, TANDEM, JsonObject


def apply_patch(record: UserRecord, body: JsonObject) -> UserRecord:
    """A PatchOp (RFC 7644 §3.5.2) applied to a copy of ``record``."""
    ops = body.get("Operations", body.get("operations"))
    schemas = body.get("schemas") or []
    if (
        not isinstance(schemas, (list, str, dict))
        or PATCH_OP not in schemas
        or not isinstance(ops, list)
    ):
        raise ScimError(400, "invalidSyntax", f"expected a {PATCH_OP} with Operations")
    record = record.copy()
    record["roles"] = list(record["roles"])
    record["languages"] = list(record["languages"])
    for op in ops:
        if not isinstance(op, dict):
            raise ScimError(400, "invalidSyntax", "each operation must be an object")
        kind = str(op.get("op", "")).lower()
        path, value = op.get("path"), op.get("value")
        if kind not in ("add", "replace", "remove"):
            raise ScimError(400, "invalidSyntax", f"unknown op {op.get('op')!r}")
        if path:
            write(record, str(path), value, kind)
        elif kind == "remove":
            raise ScimError(400, "noTarget", "remove needs a path")
        elif isinstance(value, dict):  # Entra ID: {"name.givenName": …, "urn:…": …}
            for key in sorted(value, key=lambda k: k.lower() == TANDEM.lower()):
                write(record, str(key), value[key], kind)
        else:
            raise ScimError(400, "invalidSyntax", "an op without path needs an object")
    return record
