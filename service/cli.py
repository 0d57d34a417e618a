"""The `crm` command: run the processes, migrate, check the set-up, export, import."""
from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import sys
from pathlib import Path

from tqdm import tqdm

from crm import db, files
from crm.settings import Settings, SettingsError, load_settings


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"crm: configuration error: {error}", file=sys.stderr)
        return 2
    files.private_dir(settings.data_dir)
    try:
        return asyncio.run(args.run(settings, args)) or 0
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="crm", description="A Slack-native customer registry.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    commands.add_parser("serve", help="everything in one process: Slack, HTTP endpoints, jobs").set_defaults(run=_serve)
    commands.add_parser("web", help="Slack and the HTTP endpoints (Procfile: web)").set_defaults(run=_web)
    commands.add_parser("worker", help="scheduled jobs (Procfile: worker)").set_defaults(run=_worker)

    database = commands.add_parser("db", help="database schema")
    database_commands = database.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    database_commands.add_parser("upgrade", help="apply pending migrations").set_defaults(run=_db_upgrade)

    commands.add_parser("doctor", help="check the configuration, the database and Slack").set_defaults(run=_doctor)

    export = commands.add_parser("export", help="write records as CSV or XLSX")
    export.add_argument("what", choices=["thirdparties", "contacts"],
                        help="third parties, or the contacts of those third parties")
    export.add_argument("--filter", default="", help='which third parties, as in Slack (e.g. "type:customer tag:vip")')
    export.add_argument("--as", dest="as_user", metavar="U123", help="the Slack user `rep:me` means")
    export.add_argument("--format", choices=["csv", "xlsx"], default=None,
                        help="default: the filter's final word, else the --out extension, else csv")
    export.add_argument("--out", help="file to write (default: standard output, CSV only)")
    export.set_defaults(run=_export)

    imports = commands.add_parser("import", help="read records from CSV (ours, or Dolibarr's third-party export)")
    imports.add_argument("what", choices=["thirdparties", "contacts"],
                         help="third parties, or contacts linked by their third party's code")
    imports.add_argument("file", metavar="FILE", help="CSV file, UTF-8, comma- or semicolon-separated")
    imports.add_argument("--dry-run", action="store_true", help="check every row and report, writing nothing")
    imports.add_argument("--as", dest="as_user", metavar="U123", help="the Slack user the changes are recorded for")
    imports.set_defaults(run=_import)
    return parser


async def _serve(settings: Settings, args) -> None:
    from service.run import run

    await run(settings, http=True, jobs=True)


async def _web(settings: Settings, args) -> None:
    from service.run import run

    await run(settings, http=True, jobs=False)


async def _worker(settings: Settings, args) -> None:
    from service.run import run

    await run(settings, http=False, jobs=True)


async def _db_upgrade(settings: Settings, args) -> None:
    await db.connect(settings.database_url)
    try:
        applied = await db.upgrade(settings.database_url)
    finally:
        await db.close()
    print(f"applied: {', '.join(applied)}" if applied else "the database is up to date")


async def _doctor(settings: Settings, args) -> int:
    from service.doctor import diagnose

    levels = []
    for level, line in await diagnose(settings):
        print(f"{level.upper() if level != 'ok' else level:<5}{line}")
        levels.append(level)
    return 1 if "fail" in levels else 0


async def _export(settings: Settings, args) -> int:
    from crm import clock, exports, filters
    from crm.context import Context
    from crm.errors import ValidationError
    from crm.permissions import SYSTEM

    ctx = Context(dataclasses.replace(SYSTEM, id=args.as_user) if args.as_user else SYSTEM, settings, clock)
    try:
        chosen = filters.parse(args.filter)
    except ValidationError as error:
        print(f"crm: {error}", file=sys.stderr)
        return 2
    by_extension = "xlsx" if args.out and args.out.lower().endswith(".xlsx") else "csv"
    fmt = args.format or chosen.format or by_extension
    if fmt == "xlsx" and not args.out:
        print("crm: an XLSX export needs --out FILE", file=sys.stderr)
        return 2
    export = exports.export_thirdparties if args.what == "thirdparties" else exports.export_contacts
    await db.connect(settings.database_url)
    try:
        if await db.pending_migrations():
            print("crm: the database schema is not up to date; run `crm db upgrade` first", file=sys.stderr)
            return 1
        try:
            query = await filters.thirdparties(ctx, chosen)
        except ValidationError as error:
            print(f"crm: {error}", file=sys.stderr)
            return 2
        bar = await _progress_bar(args.what, query)
        progress = bar.update if bar else None
        try:
            if not args.out:
                sys.stdout.reconfigure(encoding="utf-8", newline="")
                await export(ctx, sys.stdout, "csv", chosen=query, progress=progress)
                return 0
            path = Path(args.out)
            if fmt == "csv":
                with path.open("w", encoding="utf-8", newline="") as stream:
                    count = await export(ctx, stream, "csv", chosen=query, progress=progress)
            else:
                count = await export(ctx, str(path), "xlsx", chosen=query, progress=progress)
        finally:
            if bar:
                bar.close()
        what = "third parties" if args.what == "thirdparties" else "contacts"
        print(f"exported {count} {what} to {path}", file=sys.stderr)
    finally:
        await db.close()
    return 0


async def _import(settings: Settings, args) -> int:
    """Import a CSV file; prints each refused row and the counts. Exit status 1 when a row was refused."""
    from crm import clock, imports
    from crm.context import Context
    from crm.permissions import SYSTEM

    ctx = Context(dataclasses.replace(SYSTEM, id=args.as_user) if args.as_user else SYSTEM, settings, clock)
    run = imports.import_thirdparties if args.what == "thirdparties" else imports.import_contacts
    try:
        stream = open(args.file, encoding="utf-8-sig", newline="")
    except OSError as error:
        print(f"crm: cannot read {args.file}: {error.strerror}", file=sys.stderr)
        return 2
    with stream:
        try:  # the whole file is decoded before anything is written
            lines = sum(1 for _ in stream)
        except UnicodeDecodeError as error:
            print(f"crm: {args.file} is not UTF-8 text ({error.reason} at byte {error.start})", file=sys.stderr)
            return 2
        stream.seek(0)
        await db.connect(settings.database_url)
        try:
            if await db.pending_migrations():
                print("crm: the database schema is not up to date; run `crm db upgrade` first", file=sys.stderr)
                return 1
            # on a terminal only; its end counts a cell of several lines as several rows
            bar = tqdm(total=lines - 1, unit=" rows", unit_scale=True, file=sys.stderr) if sys.stderr.isatty() else None
            try:
                report = await run(ctx, stream, dry_run=args.dry_run, progress=bar.update if bar else None)
            except imports.ImportInterrupted as stopped:
                _print_import_report(stopped.report)
                print(f"crm: {stopped}", file=sys.stderr)
                return 1
            finally:
                if bar:
                    bar.close()
        finally:
            await db.close()
    _print_import_report(report)
    return 1 if report.refused else 0


def _print_import_report(report) -> None:
    for refusal in report.refused:
        print(f"row {refusal.row}: {refusal.field + ': ' if refusal.field else ''}{refusal.reason}")
    if report.ignored_columns:
        print(f"ignored columns: {', '.join(report.ignored_columns)}")
    print(f"{'dry run, nothing written: ' if report.dry_run else ''}"
          f"{report.created} created, {report.updated} updated, {len(report.refused)} refused")


async def _progress_bar(what: str, query) -> tqdm | None:
    """A progress bar on standard error when it is a terminal, never in a pipe or a log."""
    if not sys.stderr.isatty():
        return None
    # third parties are counted first for the bar's end; contacts show the rows written so far
    total = await query.count() if what == "thirdparties" else None
    return tqdm(total=total, unit=" rows", unit_scale=True, file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
