"""Reading a service's answer through its response model (``contracts.api``).

A resolver validates an upstream answer once, where it is received, and builds its
GraphQL types from the model's attributes, so a field renamed or dropped on either
side is a type error (mypy) rather than a silent null. An answer that does not fit
its model is the service's failure, not the caller's: it becomes an
:class:`~gateway.upstream.UpstreamError` (``InternalError``), logged with the
validation errors and never shown to the caller.
"""

from __future__ import annotations

import logging
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from gateway.upstream import UpstreamError

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)


def read(model: type[M], data: object, service: str) -> M:
    """``data`` (a decoded JSON answer of ``service``, or its undecoded bytes:
    parsed and validated in one step, and malformed JSON is malformed) as
    ``model``."""
    try:
        if isinstance(data, bytes):
            return model.model_validate_json(data)
        return model.model_validate(data)
    except ValidationError as exc:
        log.error(
            "%s answered a malformed %s: %s",
            service,
            model.__name__,
            exc.errors(include_url=False, include_input=False),
        )
        raise UpstreamError(
            service,
            502,
            "InternalError",
            f"the {service} service answered a malformed {model.__name__}",
        ) from None


def read_list(model: type[M], data: object, service: str) -> list[M]:
    """``data`` (a decoded JSON list answered by ``service``) as a list of
    ``model``; not a list, or an item that does not fit, is an upstream
    ``InternalError`` as for :func:`read`."""
    problem: object = f"a {type(data).__name__}, not a list"
    if isinstance(data, list):
        try:
            return [model.model_validate(item) for item in data]
        except ValidationError as exc:
            problem = exc.errors(include_url=False, include_input=False)
    log.error(
        "%s answered a malformed list of %s: %s", service, model.__name__, problem
    )
    raise UpstreamError(
        service,
        502,
        "InternalError",
        f"the {service} service answered a malformed list of {model.__name__}",
    )
