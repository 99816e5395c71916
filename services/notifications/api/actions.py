"""Routes of signed action links: no login, the token is the authority.

``GET /notifications/act/{token}`` only shows what the link will do (mail scanners
and link previews fetch it: it changes nothing); ``POST`` on the same URL does it.
A browser gets a page with one button; anything else gets JSON.
"""

from __future__ import annotations

import html
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel

from chassis.http.openapi import problems
from chassis.service import provided
from services.notifications.application.actions import ActionLinks

router = APIRouter(tags=["actions"])
LinksDep = Annotated[ActionLinks, Depends(provided(ActionLinks))]
Token = Annotated[
    str, Path(min_length=1, max_length=2048, pattern=r"^[A-Za-z0-9_.=-]+$")
]
NO_STORE = {"cache-control": "no-store", "referrer-policy": "no-referrer"}


class ActionPreviewView(BaseModel):
    action: str
    description: str
    subject_id: str
    expires_at: int


class ActionDoneView(BaseModel):
    action: str
    subject_id: str
    done: bool = True


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


@router.get(
    "/notifications/act/{token}",
    responses=problems(403, 404, 410),
    response_model=ActionPreviewView,
)
async def preview(token: Token, request: Request, links: LinksDep) -> Response:
    """What the link will do, without doing it."""
    shown = await links.preview(token)
    if _wants_html(request):
        text = html.escape(shown.description)
        page = (
            "<!doctype html><html><head><meta charset='utf-8'><title>Tandem</title>"
            "</head><body><main><h1>" + text + "</h1><form method='post'>"
            "<button type='submit'>" + text + "</button></form></main></body></html>"
        )
        return HTMLResponse(page, headers=NO_STORE)
    view = ActionPreviewView(
        action=shown.action,
        description=shown.description,
        subject_id=shown.subject_id,
        expires_at=shown.expires_at,
    )
    return JSONResponse(view.model_dump(), headers=NO_STORE)


@router.post(
    "/notifications/act/{token}",
    responses=problems(403, 404, 409, 410, 503),
    response_model=ActionDoneView,
)
async def act(token: Token, request: Request, links: LinksDep) -> Response:
    """Do the one thing the link names, once."""
    done = await links.perform(token)
    if _wants_html(request):
        page = (
            "<!doctype html><html><head><meta charset='utf-8'><title>Tandem</title>"
            "</head><body><main><h1>Done.</h1></main></body></html>"
        )
        return HTMLResponse(page, headers=NO_STORE)
    view = ActionDoneView(action=done.action, subject_id=done.subject_id)
    return JSONResponse(view.model_dump(), headers=NO_STORE)
