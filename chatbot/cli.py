"""`chatbot`: the command line (typer). run, console, db, config, audit.

Every bad setting ends in one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import sys
from collections.abc import Callable, Coroutine, Iterator, Sequence
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console

from chatbot.chat_adapters import CONSOLE, enabled_adapters, entry_of, find
from chatbot.config import ConfigError, DeskConfig, Settings, config_path, load, load_desk, load_settings
from chatbot.logs import setup_logging
from chatbot.redact import REDACTOR

if TYPE_CHECKING:
    from rich.table import Table

    from chatbot.runtime import Desk

app = typer.Typer(help="Desk margin bot: drive a shared margin account from chat.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
db_app = typer.Typer(help="Database schema (Alembic).", no_args_is_help=True)
config_app = typer.Typer(help="Configuration.", no_args_is_help=True)
audit_app = typer.Typer(help="The append-only audit log.", no_args_is_help=True)
jobs_app = typer.Typer(help="Scheduled jobs: margin monitor, daily interest summary.", no_args_is_help=True)
app.add_typer(jobs_app, name="jobs")
app.add_typer(db_app, name="db")
app.add_typer(config_app, name="config")
app.add_typer(audit_app, name="audit")
out = Console(soft_wrap=True, highlight=False)
T = TypeVar("T")
JOB_NAMES = ("margin-monitor", "interest-summary")  # `chatbot.scheduler.DESK_JOBS`'s keys (a test keeps them equal)


@app.callback()
def _startup() -> None:
    # Start-up only builds what lives as long as the process (modules, classes, tables, the desk): a
    # cyclic collection in the middle of it frees nothing and rescans the growing heap, which costs a
    # one-shot `chatbot console` about a tenth of its time. `_started()` turns collection back on.
    gc.disable()


def _started() -> None:
    """Start-up is over: freeze what it built out of every later collection, and collect again."""
    if not gc.isenabled():
        gc.freeze()
        gc.enable()


def _table(*columns: str, title: str | None = None) -> Table:
    from rich.table import Table  # only the commands that print tables need it

    return Table(*columns, title=title)


def _fail(message: str, code: int = 2) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(code)


def _load() -> tuple[Settings, DeskConfig]:
    try:
        settings, desk = load()
    except ConfigError as exc:
        _fail(f"config error: {exc}")
        raise  # unreachable
    setup_logging(settings.chatbot_log_level, settings.secrets())
    return settings, desk


def _run(coro_factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    with _database_guard():
        try:
            return asyncio.run(coro_factory())
        except ConfigError as exc:
            _fail(f"config error: {exc}")
            raise  # unreachable


@contextlib.contextmanager
def _database_guard() -> Iterator[None]:
    """A database that cannot be used ends the command with one line naming the problem, exit 2."""
    from sqlalchemy.exc import SQLAlchemyError

    from chatbot.store.db import database_problem

    try:
        yield
    except SQLAlchemyError as exc:
        problem = database_problem(exc)
        if problem is None:
            raise
        _fail(f"database unavailable: {REDACTOR(problem)} (CHATBOT_DATABASE_URL)")


# ---------------------------------------------------------------------------- run / console


@app.command()
def run() -> None:
    """Start everything configured: the console (on a terminal or when no chat token is set) and chat adapters."""
    settings, desk = _load()

    async def main() -> int:
        from chatbot.runtime import open_desk

        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        d = await open_desk(settings, desk)
        try:
            await d.start_background()
            if stop.is_set():
                return 0
            return await _serve(d, settings, stop)
        finally:
            await d.close()

    raise typer.Exit(_run(main))


async def _serve(d: Desk, settings: Settings, stop: asyncio.Event) -> int:
    """Run every chat adapter that has a token, and the console when on a terminal or when none do."""
    runners = [(a.platform, entry_of(a)) for a in enabled_adapters(settings)]
    serve_console = find(CONSOLE) if not runners or sys.stdin.isatty() else None
    _started()
    tasks = [asyncio.create_task(run(d.core, settings, stop), name=platform) for platform, run in runners]
    if serve_console is not None:
        code = int(await serve_console(d.core))
        stop.set()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        return _adapter_failures(results) or code
    stopper = asyncio.create_task(stop.wait())
    await asyncio.wait([stopper, *tasks], return_when=asyncio.FIRST_COMPLETED)
    stop.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    stopper.cancel()
    return _adapter_failures(results)


def _adapter_failures(results: Sequence[object]) -> int:
    failures = [r for r in results if isinstance(r, BaseException)]
    if failures:
        logging.getLogger("chatbot").error("chat adapter stopped: %s", failures[0])
        return 1
    return 0


@app.command()
def console(as_: Annotated[str | None, typer.Option("--as", help="Act as this desk member.")] = None) -> None:
    """The console adapter alone: type desk commands as one member (default: the first admin)."""
    settings, desk = _load()

    async def main() -> int:
        from chatbot.runtime import open_desk

        d = await open_desk(settings, desk)
        await d.start_background()
        try:
            run_console = find(CONSOLE)
            _started()
            return int(await run_console(d.core, as_name=as_))
        finally:
            await d.close()

    raise typer.Exit(_run(main))


# ---------------------------------------------------------------------------- db


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Upgrade the database to the newest schema."""
    from chatbot.store import migrate

    settings = _settings_only()
    with _database_guard():
        migrate.upgrade(settings.chatbot_database_url)
        out.print(f"database at revision {migrate.current(settings.chatbot_database_url)}")


@db_app.command("current")
def db_current() -> None:
    """Show the database's schema revision (and the newest one available)."""
    from chatbot.store import migrate

    settings = _settings_only()
    url = settings.chatbot_database_url
    with _database_guard():
        out.print(f"current: {migrate.current(url) or 'empty'}  head: {migrate.head(url)}")


def _settings_only() -> Settings:
    try:
        settings = load_settings()
    except ConfigError as exc:
        _fail(f"config error: {exc}")
        raise
    setup_logging(settings.chatbot_log_level, settings.secrets())
    return settings


# ---------------------------------------------------------------------------- config


@config_app.command("check")
def config_check() -> None:
    """Load and validate env + TOML, reach the database; print the effective settings with secrets as ***."""
    from chatbot.store.db import make_engine

    settings = _settings_only()
    path = config_path(settings)
    try:
        desk = load_desk(path)
    except ConfigError as exc:
        _fail(f"config error: {exc}")
        return
    table = _table("Setting", "Value", title="Environment")
    for key, value in settings.effective().items():
        table.add_row(key, value)
    out.print(table)
    out.print(f"Desk TOML: {path or '(none: defaults, no members)'}")
    out.print(f"Members: {', '.join(f'{m.name} ({m.role})' for m in desk.members) or 'none'}")
    out.print(f"Exchange: {settings.chatbot_exchange}; paper prices: "
              f"{', '.join(f'{k}={v}' for k, v in desk.paper.prices.items())}")
    with _database_guard():
        engine = make_engine(settings.chatbot_database_url)
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
        finally:
            engine.dispose()
    out.print("Database: reachable")
    from chatbot.runtime import check_exchange

    checked = _run(lambda: check_exchange(settings))
    if checked:
        out.print(f"{settings.chatbot_exchange.capitalize()}: {checked}")
    out.print("OK")


# ---------------------------------------------------------------------------- audit


@audit_app.command("verify")
def audit_verify() -> None:
    """Recompute the audit log's keyed chain and check it against the last anchor; exit 1 if anything is off."""
    from chatbot.runtime import audit_key
    from chatbot.store.anchors import AnchorFile, check_anchor
    from chatbot.store.audit import AuditLog
    from chatbot.store.db import make_engine

    settings = _settings_only()
    try:
        key = audit_key(settings)
    except ConfigError as exc:
        _fail(f"config error: {exc}")
        return
    with _database_guard():
        audit = AuditLog(make_engine(settings.chatbot_database_url), key)
        result = audit.verify()
        anchor = AnchorFile(settings.chatbot_audit_anchor_file).last()
        problem = check_anchor(audit, anchor)
    if not result.ok:
        _fail(f"audit chain BROKEN at row {result.broken_at} (after {result.rows} good rows): a row was altered, "
              "added without the key, or removed", code=1)
    if problem:
        _fail(f"audit chain BROKEN: {problem}", code=1)
    where = f"; anchored up to {anchor.short} ({anchor.at:%Y-%m-%d %H:%M} UTC)" if anchor else "; no anchor yet"
    out.print(f"audit chain OK ({result.rows} rows{where})")


@audit_app.command("tail")
def audit_tail(n: Annotated[int, typer.Argument(help="How many rows.")] = 20) -> None:
    """Print the latest audit rows."""
    from chatbot.runtime import audit_key
    from chatbot.store.audit import AuditLog
    from chatbot.store.db import make_engine

    settings = _settings_only()
    table = _table("Id", "At (UTC)", "Actor", "Member", "Action", "Outcome", "Detail")
    with _database_guard():
        rows = AuditLog(make_engine(settings.chatbot_database_url), audit_key(settings)).tail(n)
    for row in rows:
        table.add_row(str(row.id), f"{row.at:%Y-%m-%d %H:%M:%S}", row.actor, row.member or "", row.action,
                      row.outcome, row.detail_json[:80])
    out.print(table)


# ---------------------------------------------------------------------------- jobs


@jobs_app.command("list")
def jobs_list() -> None:
    """The configured jobs, as stored, with their next run time."""
    from chatbot import scheduler  # APScheduler: only the jobs commands and a running desk need it
    from chatbot.store import migrate
    from chatbot.store.db import make_engine

    settings, desk = _load()
    migrate.upgrade(settings.chatbot_database_url)
    engine = make_engine(settings.chatbot_database_url)
    table = _table("Job", "Trigger", "Next run (UTC)", "Stored")
    for job in scheduler.list_jobs(engine, scheduler.desk_job_specs(desk.alerts)):
        table.add_row(job.id, job.trigger or "", f"{job.next_run_time:%Y-%m-%d %H:%M:%S}" if job.next_run_time
                      else "-", "yes" if job.stored else "no")
    out.print(table)
    engine.dispose()


@jobs_app.command("run")
def jobs_run(
    job: Annotated[str, typer.Argument(help=" or ".join(JOB_NAMES))],
    once: Annotated[bool, typer.Option("--once", help="Run once now and exit.")] = False,
) -> None:
    """Run a job once against the configured database and exchange; print what it delivered."""
    from chatbot import scheduler  # APScheduler: only the jobs commands and a running desk need it

    if job not in scheduler.DESK_JOBS:
        _fail(f"unknown job {job!r}; choose one of: {', '.join(scheduler.DESK_JOBS)}")
    if not once:
        _fail("only --once is supported here; `chatbot run` schedules the jobs")
    settings, desk = _load()

    open_incidents: list[str] = []

    async def main() -> int:
        from chatbot.runtime import open_desk

        d = await open_desk(settings, desk)
        try:
            if scheduler.DESK_JOBS[job] is scheduler.MARGIN_MONITOR:
                notices = await d.core.monitor.check_all()
                open_incidents.extend(d.core.monitor.open_summary())
            else:
                notices = await d.core.summarizer.run()
        finally:
            await d.close()
        for notice in notices:
            out.print(f"[{notice.kind}] {notice.reply.text()}", markup=False)
        if not notices:
            out.print("nothing new to report")
        if job == "margin-monitor":
            lines = open_incidents or ["no open incidents"]
            out.print("Open incidents:\n  " + "\n  ".join(lines), markup=False)
        return 0

    raise typer.Exit(_run(main))


if __name__ == "__main__":  # pragma: no cover
    app()
