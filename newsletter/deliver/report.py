"""How an issue did, from the provider's own figures: ``newsletter report ISSUE``.

Sends tag every message with the issue's slug as a category, so the provider's category
statistics are the issue's (SendGrid: ``GET /v3/categories/stats``, summed over the days since
the first send). Opens are counted by a tracking image, and Apple Mail Privacy Protection
loads every image for its users whether they read the message or not: opens overstate
readers, so clicks are the figure to trust.
"""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from newsletter.compose.issuefile import read_issue
from newsletter.compose.sendlog import log_path, read_log
from newsletter.deliver.settings import SendSettings
from newsletter.errors import InputError, NewsletterError

if TYPE_CHECKING:
    from newsletter.workspace import Workspace

METRICS = {"requests": "requests", "delivered": "delivered", "bounces": "bounces", "spam_reports": "spam reports",
           "unsubscribes": "unsubscribes", "unique_opens": "unique opens", "unique_clicks": "unique clicks"}
OPENS_CAVEAT = ("Opens are unreliable: Apple Mail Privacy Protection loads every image, the tracking pixel "
                "included, for its users whether or not they read the issue. Trust clicks.")


@dataclass(frozen=True)
class IssueReport:
    issue: str
    provider: str
    since: dt.date
    figures: dict[str, int] = field(default_factory=dict)

    def share(self, metric: str) -> float | None:
        """Of those delivered (requests for delivered itself), as a fraction."""
        base = self.figures.get("requests" if metric in ("delivered", "bounces") else "delivered", 0)
        return self.figures.get(metric, 0) / base if base and metric != "requests" else None

    def to_dict(self) -> dict:
        shares = {metric: round(share, 4) for metric in METRICS if (share := self.share(metric)) is not None}
        return {"issue": self.issue, "provider": self.provider, "since": self.since.isoformat(),
                "figures": {metric: self.figures.get(metric, 0) for metric in METRICS}, "shares": shares,
                "opens_caveat": OPENS_CAVEAT}


def issue_report(workspace: Workspace, issue: str | Path, since: dt.date | None = None) -> IssueReport:
    from newsletter.deliver.providers import get_provider, provider_class
    from newsletter.deliver.retry import RetryPolicy

    spec = read_issue(workspace.issue_path(issue), workspace.cache_dir)
    # The provider the issue went out through (the send log says), else the one that would send it.
    sent_through = read_log(log_path(spec.folder)).providers
    name = sent_through[-1] if sent_through else workspace.table(SendSettings).provider
    provider = provider_class(name, workspace)
    if not provider.can_report:
        where = "the issue went out through" if sent_through else "[send] provider is"
        raise InputError(workspace.settings_path, f"{where} {name!r}, which reports no figures: "
                         "newsletter report reads a provider's statistics (SendGrid's)")
    provider = get_provider(name, workspace)
    # A local send_at reaches readers east of UTC the day before, in UTC's days.
    local_day = spec.send_local.wall.date() - dt.timedelta(days=1) if spec.send_local else None
    scheduled = spec.send_at.date() if spec.send_at else local_day
    start = since or _first_send(spec.folder) or scheduled or spec.date
    if start is None:
        raise InputError(spec.path, "the issue was never sent and has no date: pass --since YYYY-MM-DD")
    policy = RetryPolicy.from_settings(workspace.table(SendSettings))
    return IssueReport(spec.slug, name, start, provider.category_stats(spec.slug, start, policy))


def _first_send(folder: Path) -> dt.date | None:
    first = read_log(log_path(folder)).first_run
    return dt.date.fromisoformat(first[:10]) if first else None


def report_chart(report: IssueReport) -> str:
    """A small inline SVG bar chart (no script, no external file), each bar labelled with its figure."""
    width, bar_left, bar_room, row = 420, 110, 250, 22
    top = max(report.figures.get("requests", 0), 1)
    rows = []
    for index, (metric, label) in enumerate(METRICS.items()):
        value = report.figures.get(metric, 0)
        y = index * row
        length = round(bar_room * value / top) if value else 0
        share = report.share(metric)
        text = f"{value:,}" + (f" ({share:.1%})" if share is not None else "")
        rows.append(f'<text x="{bar_left - 6}" y="{y + 15}" text-anchor="end">{html.escape(label)}</text>'
                    f'<rect x="{bar_left}" y="{y + 4}" width="{length}" height="14" fill="#2f6b3a">'
                    f'<title>{html.escape(label)}: {text}</title></rect>'
                    f'<text x="{bar_left + length + 6}" y="{y + 15}">{text}</text>')
    height = len(METRICS) * row + 4
    return (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" font-family="system-ui, sans-serif" font-size="12" '
            f'aria-label="Results of {html.escape(report.issue)} since {report.since}">{"".join(rows)}</svg>')


def results_fragment(workspace: Workspace, issue: str | Path) -> str:
    """The issue's figures as HTML (a chart and the opens caveat), or why there are none."""
    try:
        report = issue_report(workspace, issue)
    except NewsletterError as error:
        return f'<p class="note">No figures: {html.escape(str(error))}</p>'
    return (f"<p>{html.escape(report.provider)} figures since {report.since}</p>{report_chart(report)}"
            f'<p class="note">{html.escape(OPENS_CAVEAT)}</p>')
