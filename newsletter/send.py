"""Send an issue: build it, choose the audience, hand the Campaign to a provider."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .audience import Recipient, read_audience, valid_email
from .build import Build, build_issue
from .errors import InputError
from .message import Campaign, unsubscribe_headers
from .providers import Provider, SendResult, get_provider
from .workspace import Workspace

TEST_PREFIX = "[TEST] "


@dataclass(frozen=True)
class SendPlan:
    build: Build
    campaign: Campaign
    recipients: list[Recipient]
    audience: Path | None


def campaign_for(build: Build, workspace: Workspace, test: bool = False) -> Campaign:
    settings = workspace.settings
    subject = f"{TEST_PREFIX}{build.issue.subject}" if test else build.issue.subject
    return Campaign(
        slug=build.issue.slug,
        subject=subject,
        html=build.rendered.html,
        text=build.rendered.text,
        sender=settings.sender,
        reply_to=settings.reply_to,
        headers=unsubscribe_headers(settings.unsubscribe_url, settings.unsubscribe_mailto),
        categories=("newsletter", build.issue.slug),
    )


def audience_path(workspace: Workspace, build: Build, override: Path | None) -> Path:
    """--audience, else the issue's ``audience:``, else newsletter.toml's [send] audience."""
    if override:
        return override
    if build.spec.audience:
        return build.spec.folder / build.spec.audience
    if workspace.settings.send.audience:
        return workspace.root / workspace.settings.send.audience
    raise InputError(build.spec.path, "no audience: add 'audience: audience.csv' to the issue, "
                     "set [send] audience in newsletter.toml, or pass --audience CSV or --to ADDR")


def plan_send(workspace: Workspace, issue: str | Path, audience: Path | None = None,
              to: list[str] | None = None, limit: int | None = None) -> SendPlan:
    build = build_issue(workspace, issue)
    if to:
        recipients = [Recipient(valid_email(address)) for address in to]
        source = None
    else:
        source = audience_path(workspace, build, audience)
        recipients = read_audience(source)
    if limit is not None:
        recipients = recipients[:limit]
    return SendPlan(build, campaign_for(build, workspace, test=bool(to)), recipients, source)


def execute(plan: SendPlan, provider: Provider) -> SendResult:
    return provider.send(plan.campaign, plan.recipients)


def outbox_provider(workspace: Workspace) -> Provider:
    return get_provider("outbox", folder=workspace.outbox_dir, sample=workspace.settings.send.sample)
