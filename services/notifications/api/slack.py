"""Routes of the organisation's Slack bot (admins), over ``SlackBot``
(``application/chat.py``): the token is write-only, never shown back."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from chassis.auth.fastapi import PrincipalDep
from chassis.http.openapi import problems
from chassis.service import provided
from contracts.api.notifications import SlackBotIn, SlackBotView
from services.notifications.application.chat import SlackBot

router = APIRouter(tags=["slack"])
SlackBotDep = Annotated[SlackBot, Depends(provided(SlackBot))]


@router.get("/notifications/slack-bot", responses=problems(403))
async def get_slack_bot(principal: PrincipalDep, bot: SlackBotDep) -> SlackBotView:
    """Whether the organisation's Slack bot is set (never its token)."""
    return await bot.view(principal)


@router.put("/notifications/slack-bot", responses=problems(403, 422))
async def set_slack_bot(
    body: SlackBotIn, principal: PrincipalDep, bot: SlackBotDep
) -> SlackBotView:
    """Set the organisation's Slack bot token: people who chose Slack without a
    webhook of their own are then sent direct messages by the bot."""
    return await bot.configure(principal, body.bot_token)


@router.delete("/notifications/slack-bot", status_code=204, responses=problems(403))
async def remove_slack_bot(principal: PrincipalDep, bot: SlackBotDep) -> None:
    """Forget the organisation's Slack bot token."""
    await bot.remove(principal)
