"""The office's pages: overview, one group, downloads (the CLI's export, byte for byte) and the report."""

from __future__ import annotations

import asyncio
import io
import logging
import tempfile
import zipfile
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bot.domain.disclosure import DisclosurePolicy, NOT_FOR_PUBLICATION
from bot.services.participation.dashboard import MONTH_FIGURES, month_start
from bot.services.participation.export import ExportRequest, GROUPINGS, ParticipationExport, metadata
from bot.services.participation.export_files import write_csv, write_json
from bot.services.participation.office import previous_month
from bot.services.participation.report import CHART_FILES, SUMMARY, build_report
from bot.web import charts, public
from bot.web.app import Web, error_page, protected

log = logging.getLogger(__name__)

SORTABLE = ("name", *MONTH_FIGURES, "on_rota", "uncovered", "flags", "referral_joins", "tough_debriefs")
OVERVIEW_COLUMNS = MONTH_FIGURES
# The group page's table of months, in the order of its header: the dashboard's monthly figures but the facilitators'
# summed turns (the page shows its rota health instead).
GROUP_COLUMNS = tuple(name for name in MONTH_FIGURES if name != "facilitators")
FORMATS = {"csv": "text/csv; charset=utf-8", "json": "application/json"}


def routes(web: Web) -> list[BaseRoute]:
    """Return the office's pages, each behind a session."""

    async def overview(request: Request) -> Response:
        now = web.clock.now()
        query = request.query_params
        month = _month(query.get("month")) or now.date()
        data = await web.dashboard.overview(month, now)
        needle = (query.get("q") or "").strip().casefold()
        groups = [glance for glance in data.groups if needle in glance.name.casefold()]
        sort = str(query.get("sort")) if query.get("sort") in SORTABLE else "name"
        descending = query.get("order") == "desc"
        groups.sort(key=lambda glance: _sort_key(glance, sort), reverse=descending)
        # Cells are formatted here, not by template macros: a national overview has hundreds of rows.
        rows = [
            {
                "glance": glance,
                "key": web.group_key(glance.guild_id),
                "cells": [(key, _shown(glance.month[key])) for key in OVERVIEW_COLUMNS],
                "trend": ", ".join(f"{month}: {_shown(value)}" for month, value in glance.trend),
            }
            for glance in groups
        ]
        previous = (month_start(month) - timedelta(days=1)).isoformat()[:7]
        following = (month_start(month) + timedelta(days=32)).isoformat()[:7]
        return web.render(
            request,
            "overview.html",
            {
                "title": "Overview",
                "data": data,
                "rows": rows,
                "q": query.get("q") or "",
                "sort": sort,
                "order": "desc" if descending else "asc",
                "previous": previous,
                "following": following,
                "total_groups": len(data.groups),
            },
        )

    async def group(request: Request) -> Response:
        found = await web.group_of_key(request.path_params["slug"])
        if found is None:
            return error_page(web, request, 404, "No such group.")
        detail = await web.dashboard.group(found[0], web.clock.now(), name=found[1])
        attendance, meetings = charts.attendance_chart(detail.months), charts.meetings_chart(detail.months)
        # Cells formatted here, as on the overview, not by a template macro per cell.
        months = [(month, [_shown(row[key]) for key in GROUP_COLUMNS]) for month, row in detail.months]
        history = [(meeting, _shown(meeting.attendees)) for meeting in detail.history]
        return web.render(
            request,
            "group.html",
            {
                "title": detail.name,
                "detail": detail,
                "months": months,
                "history": history,
                "attendance_chart": attendance,
                "meetings_chart": meetings,
            },
        )

    async def downloads_form(request: Request) -> Response:
        first, last = previous_month(web.clock.now().date())
        return web.render(request, "downloads.html", await _form_context(web, request, "Downloads", first, last))

    async def download(request: Request) -> Response:
        form = await request.form()
        parsed = await _export_request(web, request, form)
        if isinstance(parsed, Response):
            return parsed
        request_, fmt = parsed
        await web.participation.reconcile(request_.start, request_.end)
        buffer = io.StringIO(newline="")
        writer = write_csv if fmt == "csv" else write_json
        rows = await writer(
            ParticipationExport(web.database).rows(request_),
            buffer,
            metadata(request_, web.clock.now()),
            request_.by,
        )
        stamp = "_NOT_FOR_PUBLICATION" if request_.policy.exact else ""
        name = f"participation_{request_.start}_{request_.end}_{request_.by}{stamp}.{fmt}"
        log.info("Dashboard export: %d row(s), %s.", rows, fmt)
        return Response(
            buffer.getvalue().encode("utf-8"),
            media_type=FORMATS[fmt],
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    async def report_form(request: Request) -> Response:
        first, last = previous_month(web.clock.now().date())
        return web.render(request, "report.html", await _form_context(web, request, "Report", first, last))

    async def report(request: Request) -> Response:
        form = await request.form()
        parsed = await _export_request(web, request, form, by="week")
        if isinstance(parsed, Response):
            return parsed
        request_, _fmt = parsed
        await web.participation.reconcile(request_.start, request_.end)
        with tempfile.TemporaryDirectory(prefix="smartbot-report-") as folder:
            built = await build_report(web.database, request_, Path(folder), web.clock.now())
            if form.get("download"):
                archive = await asyncio.to_thread(_zip, Path(folder))
                stamp = "_NOT_FOR_PUBLICATION" if request_.policy.exact else ""
                return Response(
                    archive,
                    media_type="application/zip",
                    headers={
                        "Content-Disposition": (
                            f'attachment; filename="report_{request_.start}_{request_.end}{stamp}.zip"'
                        )
                    },
                )
            images = [
                (title, charts.png_uri(Path(folder) / CHART_FILES[key]))
                for key, title in (
                    ("attendance", "Attendance per week, per group and for all groups"),
                    ("new_returning", "New, returning and unlinked attendances per week, all groups"),
                    ("meetings", "Meetings held and missed per group"),
                    ("feedback", "Feedback answers, all groups"),
                )
            ]
            summary = (Path(folder) / SUMMARY).read_text(encoding="utf-8")
        context = await _form_context(web, request, "Report", request_.start, request_.end)
        context |= {
            "built": built,
            "images": images,
            "summary": summary,
            "request_": request_,
            "stamp": NOT_FOR_PUBLICATION,
        }
        return web.render(request, "report.html", context)

    return [
        Route("/", protected(web, overview), methods=["GET"]),
        # A group's address is its public page when listed, else the office's page behind a session (public.py).
        *public.routes(web, protected(web, group)),
        Route("/downloads", protected(web, downloads_form), methods=["GET"]),
        Route("/downloads", protected(web, download), methods=["POST"]),
        Route("/report", protected(web, report_form), methods=["GET"]),
        Route("/report", protected(web, report), methods=["POST"]),
    ]


async def _form_context(web: Web, request: Request, title: str, first: date, last: date) -> dict[str, Any]:
    groups = sorted(
        ((name, web.group_key(guild_id)) for guild_id, name in (await web.dashboard.known_groups()).items()),
        key=lambda item: item[0].casefold(),
    )
    return {
        "title": title,
        "groups": groups,
        "first": first.isoformat(),
        "last": last.isoformat(),
        "groupings": GROUPINGS,
    }


async def _export_request(
    web: Web, request: Request, form: FormData, by: str | None = None
) -> tuple[ExportRequest, str] | Response:
    """Return the export request a form asks for, or a page saying what is wrong with it."""
    fmt = str(form.get("format") or "csv")
    if fmt not in FORMATS:
        return error_page(web, request, 400, "The format is csv or json.")
    try:
        start = date.fromisoformat(str(form.get("from") or ""))
        end = date.fromisoformat(str(form.get("to") or ""))
    except ValueError:
        return error_page(web, request, 400, "The first and last days are dates as YYYY-MM-DD.")
    guild_ids: list[int] = []
    for key in form.getlist("group"):
        found = await web.group_of_key(str(key))
        if found is None:
            return error_page(web, request, 400, "One of the chosen groups is unknown.")
        guild_ids.append(found[0])
    exact = form.get("exact") == "1"
    if exact and not request.state.session.exact:
        return error_page(web, request, 403, "Exact figures need the exact-figures role as well as the office role.")
    policy = DisclosurePolicy(exact=exact)
    try:
        export = ExportRequest(start, end, tuple(guild_ids), by or str(form.get("by") or "occurrence"), policy)
    except ValueError as exc:
        return error_page(
            web, request, 400, str(exc).replace("--to", "the last day").replace("--from", "the first day")
        )
    return export, fmt


def _shown(value: Any) -> str:
    """Return a published figure as the pages show it: * when suppressed, two decimals for averages."""
    if value is None:
        return "*"
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def _month(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(f"{text}-01")
    except ValueError:
        return None


def _sort_key(glance: Any, sort: str) -> Any:
    if sort == "name":
        return glance.name.casefold()
    if sort in ("uncovered", "on_rota"):
        return getattr(glance, sort)
    if sort in ("referral_joins", "tough_debriefs"):
        value = getattr(glance, sort)
        return -1 if value is None else value
    if sort == "flags":
        return len(glance.flags)
    value = glance.month.get(sort)
    return -1 if value is None else value


def _zip(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.iterdir()):
            archive.write(path, path.name)
    return buffer.getvalue()


__all__ = ["replace", "routes"]
