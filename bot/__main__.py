"""Operator commands: ``python -m bot <command>``.

handoffs list [--json] [--status open|claimed|resolved]   the staff handoff queue
handoffs resolve ID --note TEXT [--by NAME]                resolve any handoff (malformed too)
serve [rasa run options]                                   the Rasa server (token from RASA_TOKEN)
actions [--host H] [--port P]                              the action server (loopback, token)
staff add-user USERNAME [--name N] [--role staff|admin]    create a console account
staff unlock USERNAME                                      clear an account's sign-in delay
staff reset-totp USERNAME                                  remove two-factor (lost phone)
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


def _handoffs_resolve(args: argparse.Namespace) -> int:
    """Resolve a handoff from the command line, whatever its conversation id holds.

    The console addresses conversations through Rasa's HTTP API, which cannot reach an
    id that is not valid (a handoff forged before the action server needed a token, or
    an id from before the id rules): such a handoff can still be closed here. A claimed
    handoff of a valid conversation is also resumed in Rasa when RASA_TOKEN is set.
    """
    import asyncio

    from bot.channels.conversation_ids import is_valid
    from bot.handoff import HandoffStateError, get_handoff, redact, resolve_handoff
    from bot.staff import audit
    from bot.staff.rasa_client import RasaClient, RasaError

    handoff = get_handoff(args.id)
    if handoff is None:
        print(f"no handoff {args.id}", file=sys.stderr)
        return 2
    try:
        done = resolve_handoff(args.id, args.by, args.note)
    except (HandoffStateError, ValueError) as exc:
        print(f"not resolved: {exc}", file=sys.stderr)
        return 2
    conversation = handoff["conversation_id"] or ""
    audit.record(
        args.by, "resolve", redact(conversation), f"handoff {args.id}, from the command line"
    )
    print(f"resolved handoff {done['id']} ({done['level']})")
    if handoff["status"] == "claimed":
        if not is_valid(conversation):
            print("its conversation id is not valid: nothing to resume in Rasa")
            return 0
        try:
            asyncio.run(RasaClient.from_env().resume(conversation))
            print("the assistant answers this conversation again")
        except RasaError as exc:
            print(f"warning: the conversation is still paused in Rasa: {exc}", file=sys.stderr)
            return 1
    return 0


def _serve(argv: List[str]) -> int:
    from bot.deploy.serve import rasa_server

    return rasa_server(argv)


def _actions(argv: List[str]) -> int:
    from bot.deploy.serve import action_server

    return action_server(argv)


PASS_THROUGH = {"serve": _serve, "actions": _actions}


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


def _operator() -> str:
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no user name in some containers
        return "cli"


def _staff_unlock(args: argparse.Namespace) -> int:
    from bot.staff import audit
    from bot.staff.accounts import user_id_of
    from bot.staff.sessions import unlock

    username = args.username.strip().lower()
    if user_id_of(username) is None:
        print(f"no account {username!r}", file=sys.stderr)
        return 2
    cleared = unlock(username)
    detail = "delay cleared" if cleared else "nothing to clear"
    audit.record(_operator(), "user_unlock", username, detail)
    print(f"{username}: {detail}")
    return 0


def _staff_reset_totp(args: argparse.Namespace) -> int:
    from bot.staff import audit
    from bot.staff.accounts import AccountError, totp_reset

    username = args.username.strip().lower()
    try:
        totp_reset(username)
    except AccountError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    audit.record(_operator(), "totp_reset", username)
    print(f"{username}: two-factor removed; they enrol again at their next sign-in")
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
    resolving = handoffs.add_parser("resolve", help="resolve a handoff (any, malformed too)")
    resolving.add_argument("id", type=int)
    resolving.add_argument("--note", required=True, help="closing note (required)")
    resolving.add_argument("--by", default="operator (command line)", help="who resolves it")
    resolving.set_defaults(func=_handoffs_resolve)

    # Listed for --help; main() hands their options on as they are.
    sub.add_parser("serve", help="the Rasa server: `rasa run` OPTIONS, token from RASA_TOKEN")
    sub.add_parser("actions", help="the action server: [--host H] [--port P], token required")

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
    unlock = staff.add_parser("unlock", help="clear an account's failed sign-ins and delay")
    unlock.add_argument("username")
    unlock.set_defaults(func=_staff_unlock)
    reset = staff.add_parser("reset-totp", help="remove an account's two-factor secret")
    reset.add_argument("username")
    reset.set_defaults(func=_staff_reset_totp)
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
    argv = sys.argv[1:] if argv is None else argv
    # serve and actions pass their options on untouched (argparse's REMAINDER would not
    # take a leading --option).
    if argv and argv[0] in PASS_THROUGH:
        return PASS_THROUGH[argv[0]](argv[1:])
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
