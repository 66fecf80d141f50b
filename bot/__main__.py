"""Operator commands: ``python -m bot <command>``.

handoffs list [--json] [--status open|claimed|resolved]   the staff handoff queue
staff add-user USERNAME [--name N] [--role staff|admin]    create a console account
staff retention [--dry-run]                                delete expired unflagged transcripts
staff watchdog                                             one watchdog round (the console runs it)
console [--host H] [--port P]                              the staff console web app
db upgrade                                                 apply our schema migrations
sms failures [--json] [--limit N]                          SMS that did not reach the patient
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import List


def _handoffs_list(args: argparse.Namespace) -> int:
    from bot.handoff import list_handoffs

    rows = list_handoffs(status=args.status)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print("no handoffs")
        return 0
    for h in rows:
        print(
            f"#{h['id']:<5} {h['level']:<9} {h['status']:<8} {h['created_at'][:19]}  "
            f"{h['channel']:<8} {h['conversation_id']}  [{', '.join(h['categories'])}]"
        )
    return 0


def _staff_add_user(args: argparse.Namespace) -> int:
    import getpass

    from bot.staff.accounts import AccountError, add_user

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            print("passwords differ; nothing created", file=sys.stderr)
            return 2
    try:
        user = add_user(args.username, password, args.name or args.username, args.role)
    except AccountError as exc:
        print(f"not created: {exc}", file=sys.stderr)
        return 2
    print(f"created {user['role']} account {user['username']!r} (id {user['id']})")
    return 0


def _staff_retention(args: argparse.Namespace) -> int:
    from bot.staff.retention import apply_retention

    result = apply_retention(days=args.days, dry_run=args.dry_run)
    if result["days"] is None:
        print("retention is not set (an admin sets it in the console): nothing deleted")
        return 0
    verb = "would delete" if args.dry_run else "deleted"
    print(
        f"{verb} {result['conversations']} unflagged conversations older than "
        f"{result['days']} days ({result['events']} events)"
    )
    return 0


def _staff_watchdog(args: argparse.Namespace) -> int:
    import asyncio

    from bot.staff.rasa_client import RasaClient, RasaError
    from bot.staff.transcripts import refresh_index
    from bot.staff.watchdog import escalate_claimed, send_reminders

    try:
        client = RasaClient.from_env()
    except RasaError as exc:
        print(f"warning: {exc}; staff are re-notified but the patient is not", file=sys.stderr)
        client = None
    refresh_index()
    raised = escalate_claimed()
    sent = asyncio.run(send_reminders(client))
    print(f"escalated {len(raised)} claimed handoffs; sent {len(sent)} reminders")
    return 0


def _console(args: argparse.Namespace) -> int:
    import logging

    from bot.staff.app import create_app
    from bot.storage.db import upgrade

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    upgrade()
    app = create_app()
    # No access log: request lines could carry search terms typed by staff.
    app.run(host=args.host, port=args.port, access_log=False, motd=False, workers=1)
    return 0


def _db_upgrade(args: argparse.Namespace) -> int:
    from bot.settings import database_url
    from bot.storage.db import upgrade

    upgrade()
    url = database_url()
    print(f"database schema is up to date ({url.split('@')[-1]})")
    return 0


def _sms_failures(args: argparse.Namespace) -> int:
    from bot.sms import failed_deliveries

    rows = failed_deliveries(limit=args.limit)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print("no failed or withheld SMS")
        return 0
    for d in rows:
        print(
            f"#{d['id']:<6} {d['created_at'][:19]}  {d['status']:<10} {d['phone']:<16} "
            f"attempts={d['attempts']}  {d['error'] or ''}"
        )
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    handoffs = sub.add_parser("handoffs", help="staff handoffs").add_subparsers(
        dest="action", required=True
    )
    listing = handoffs.add_parser("list", help="list handoffs, most urgent first")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.add_argument("--status", choices=["open", "claimed", "resolved"])
    listing.set_defaults(func=_handoffs_list)

    staff = sub.add_parser("staff", help="staff console accounts").add_subparsers(
        dest="action", required=True
    )
    add = staff.add_parser("add-user", help="create a console account")
    add.add_argument("username")
    add.add_argument("--name", help="display name shown with staff replies")
    add.add_argument("--role", choices=["staff", "admin"], default="staff")
    add.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    add.set_defaults(func=_staff_add_user)
    retention = staff.add_parser("retention", help="delete expired unflagged transcripts")
    retention.add_argument("--dry-run", action="store_true", help="only count")
    retention.add_argument("--days", type=int, help="override the admin-set number of days")
    retention.set_defaults(func=_staff_retention)
    staff.add_parser("watchdog", help="one watchdog round").set_defaults(func=_staff_watchdog)

    console = sub.add_parser("console", help="run the staff console web app")
    console.add_argument("--host", default=os.environ.get("CONSOLE_HOST", "127.0.0.1"))
    console.add_argument("--port", type=int, default=int(os.environ.get("CONSOLE_PORT", "5002")))
    console.set_defaults(func=_console)

    db = sub.add_parser("db", help="database").add_subparsers(dest="action", required=True)
    db.add_parser("upgrade", help="apply migrations").set_defaults(func=_db_upgrade)

    sms = sub.add_parser("sms", help="the SMS channel").add_subparsers(dest="action", required=True)
    failures = sms.add_parser("failures", help="SMS that failed or were withheld (opted out)")
    failures.add_argument("--json", action="store_true", help="print JSON")
    failures.add_argument("--limit", type=int, default=200)
    failures.set_defaults(func=_sms_failures)
    return parser


def main(argv: List[str] | None = None) -> int:
    """Run one command."""
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
