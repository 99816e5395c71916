"""What reaches logs, traces and dead letters: errors and requests without their values.

An operator reads logs, traces and dead letters; the design does not name them as
readers of anyone's personal data or credentials. Yet three things put values there:

- **Database errors carry the values they refused.** PostgreSQL's ``DETAIL`` names the
  key of a duplicate (``Key (email)=(…) already exists``) or the whole row that broke a
  constraint (``Failing row contains (…)``); asyncpg's own refusals quote the argument
  (``invalid input for query argument $2: '…'``); SQLAlchemy appends every parameter
  of the statement (``[parameters: (…)]``).
- **Validation errors carry their input** (pydantic's ``input_value=…``): an event's
  data that a consumer or the relay could not read.
- **Access logs carry the query string**: a calendar feed's token (a credential),
  a SCIM filter (``userName eq "…"``), a GraphQL query's variables sent by GET.

``described`` is an error as it may be written anywhere: its type, the database's
primary message with its quoted literals hidden, its SQLSTATE and the constraint,
table and column it names; a validation error's locations and messages without the
input. The consumer's dead letters, the relay's quarantine, failed jobs, readiness
answers and the error net's logs and spans use it. ``install`` puts the same rule on
the process's logging: every exception passed as an argument or as ``exc_info`` is
written as ``described`` (tracebacks keep their frames), and uvicorn's access log
keeps a query string's names, not its values.
"""

from __future__ import annotations

import logging
import re
import sys
import traceback
from collections.abc import Mapping

HIDDEN = "…"
MAX_LENGTH = 2_000  # a described error's length at most
_SINGLE_QUOTED = re.compile(r"'(?:[^']|'')*'")
_DOUBLE_QUOTED = re.compile(r'"([^"]*)"')
_QUERY_NAME = re.compile(r"[A-Za-z0-9_.\-\[\]]{1,64}")


def described(error: BaseException | None) -> str:
    """``error`` as ``Type: message``, without the values it was raised for."""
    if error is None:
        return "unknown error"
    message = _message(error)
    name = type(error).__name__
    return f"{name}: {message}" if message else name


def _message(error: BaseException) -> str:
    validation = _validation(error)
    if validation is not None:
        return validation
    if _from_driver(error):
        return _database(error)
    if _from_database(error):  # SQLAlchemy's wrapper: what the driver said
        driver = _driver_error(error)
        if driver is not None:
            inner = type(driver).__name__
            prefix = "" if inner == type(error).__name__ else f"{inner}: "
            return prefix + _database(driver)
        orig = getattr(error, "orig", None)
        if isinstance(orig, BaseException):
            return described(orig)
        return _bounded(str(error).splitlines()[0] if str(error) else "")
    return _bounded(str(error))


def _driver_error(error: BaseException) -> BaseException | None:
    """The driver's own error under SQLAlchemy's (its ``orig``, or the cause of
    the dialect's adapter of it)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if _from_driver(current):
            return current
        orig = getattr(current, "orig", None)
        current = orig if isinstance(orig, BaseException) else current.__cause__
    return None


def _from_database(error: BaseException) -> bool:
    return type(error).__module__.startswith("sqlalchemy")


def _from_driver(error: BaseException) -> bool:
    return type(error).__module__.startswith(("asyncpg", "sqlite3", "psycopg"))


def _database(error: BaseException) -> str:
    """A driver's error: the primary message with its literals hidden, the SQLSTATE,
    and the names of what it is about (never ``DETAIL``, which shows values)."""
    names = {
        str(value)
        for attribute in ("constraint_name", "table_name", "column_name", "schema_name")
        if (value := getattr(error, attribute, None))
    }
    primary = getattr(error, "message", None) or (error.args[0] if error.args else "")
    first = str(primary).splitlines()[0] if str(primary) else ""
    first = _SINGLE_QUOTED.sub(f"'{HIDDEN}'", first)
    first = _DOUBLE_QUOTED.sub(
        lambda m: m.group(0) if m.group(1) in names else f'"{HIDDEN}"', first
    )
    about = [
        f"{label} {value}"
        for label, value in (
            ("SQLSTATE", getattr(error, "sqlstate", None)),
            ("constraint", getattr(error, "constraint_name", None)),
            ("table", getattr(error, "table_name", None)),
            ("column", getattr(error, "column_name", None)),
        )
        if value
    ]
    return _bounded(f"{first} ({'; '.join(about)})" if about else first)


def _validation(error: BaseException) -> str | None:
    """A pydantic validation error's fields and reasons, not its input."""
    errors = getattr(error, "errors", None)
    if type(error).__name__ != "ValidationError" or not callable(errors):
        return None
    try:
        found = errors(include_input=False, include_url=False, include_context=False)
    except TypeError:  # not pydantic's
        return None
    parts = [
        f"{'.'.join(str(p) for p in e.get('loc', ())) or 'value'}: {e.get('msg', '')}"
        for e in found[:10]
    ]
    more = f"; and {len(found) - 10} more" if len(found) > 10 else ""
    title = getattr(error, "title", "")
    return _bounded(
        f"{len(found)} validation error(s) for {title}: {'; '.join(parts)}{more}"
    )


def _bounded(text: str) -> str:
    return text if len(text) <= MAX_LENGTH else text[:MAX_LENGTH] + HIDDEN


def redacted_traceback(error: BaseException) -> str:
    """``error``'s traceback as Python prints it (the chain, every frame), each
    exception's line written as ``described``."""
    chain: list[tuple[BaseException, str | None]] = []
    seen: set[int] = set()
    current: BaseException | None = error
    link: str | None = None
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append((current, link))
        if current.__cause__ is not None:
            current, link = current.__cause__, "cause"
        elif current.__context__ is not None and not current.__suppress_context__:
            current, link = current.__context__, "context"
        else:
            current = None
    lines: list[str] = []
    for exc, how in reversed(chain):
        if exc.__traceback__ is not None:
            lines.append("Traceback (most recent call last):\n")
            lines.extend(traceback.format_tb(exc.__traceback__))
        module = type(exc).__module__
        name = type(exc).__qualname__
        qualified = name if module in (None, "builtins") else f"{module}.{name}"
        message = _message(exc)
        lines.append(f"{qualified}: {message}\n" if message else f"{qualified}\n")
        if how == "cause":
            lines.append(
                "\nThe above exception was the direct cause of the following "
                "exception:\n\n"
            )
        elif how == "context":
            lines.append(
                "\nDuring handling of the above exception, another exception "
                "occurred:\n\n"
            )
    return "".join(lines).rstrip("\n")


def span_attributes(error: BaseException) -> dict[str, str]:
    """``Span.record_exception``'s message and stack trace, as ``described``."""
    return {
        "exception.message": _message(error),
        "exception.stacktrace": redacted_traceback(error),
    }


def redacted_target(target: str) -> str:
    """A request target with its query string's values hidden (its names kept when
    they look like names)."""
    path, mark, query = target.partition("?")
    if not mark:
        return target
    parts = []
    for part in query.split("&"):
        if not part:
            continue
        name, has_value, _ = part.partition("=")
        shown = name if _QUERY_NAME.fullmatch(name) else HIDDEN
        parts.append(f"{shown}={HIDDEN}" if has_value else shown)
    return f"{path}?{'&'.join(parts)}"


class RedactedRecords(logging.Filter):
    """Every exception a record carries, written as ``described``: as an argument
    of its message, and as its ``exc_info`` (the traceback's frames are kept)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and any(isinstance(a, BaseException) for a in args):
            record.args = tuple(
                described(a) if isinstance(a, BaseException) else a for a in args
            )
        elif isinstance(args, Mapping) and any(
            isinstance(v, BaseException) for v in args.values()
        ):
            record.args = {
                k: described(v) if isinstance(v, BaseException) else v
                for k, v in args.items()
            }
        if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
            record.exc_text = redacted_traceback(record.exc_info[1])
        return True


class AccessLogRedaction(logging.Filter):
    """uvicorn's access log line (``client - "METHOD target HTTP/v" status``) with
    the target's query values hidden."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if (
            isinstance(args, tuple)
            and len(args) == 5
            and isinstance(args[2], str)
            and "?" in args[2]
        ):
            record.args = (args[0], args[1], redacted_target(args[2]), *args[3:])
        return True


ACCESS_LOGGER = "uvicorn.access"
_SERVER_LOGGERS = ("uvicorn", "uvicorn.error", ACCESS_LOGGER)


def _add(target: logging.Filterer, kind: type[logging.Filter]) -> None:
    if not any(isinstance(f, kind) for f in target.filters):
        target.addFilter(kind())


def install() -> None:
    """Put the rule on this process's logging (idempotent): the root logger's
    handlers (one writing to stderr is added when there is none, as a server's
    process has) and uvicorn's loggers and handlers."""
    root = logging.getLogger()
    if not root.handlers:
        stderr = logging.StreamHandler(sys.stderr)
        stderr.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        root.addHandler(stderr)
    for name in ("", *_SERVER_LOGGERS):
        found = logging.getLogger(name or None)
        if name:
            _add(found, RedactedRecords)
        for handler in found.handlers:
            _add(handler, RedactedRecords)
    _add(logging.getLogger(ACCESS_LOGGER), AccessLogRedaction)
