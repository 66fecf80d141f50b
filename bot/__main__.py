"""Operator commands: ``python -m bot <command>``.

handoffs list [--json] [--status open|claimed|resolved]   the staff handoff queue
db upgrade                                                 apply our schema migrations
"""

from __future__ import annotations

import argparse
import json
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


def _db_upgrade(args: argparse.Namespace) -> int:
    from bot.settings import database_url
    from bot.storage.db import upgrade

    upgrade()
    url = database_url()
    print(f"database schema is up to date ({url.split('@')[-1]})")
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

    db = sub.add_parser("db", help="database").add_subparsers(dest="action", required=True)
    db.add_parser("upgrade", help="apply migrations").set_defaults(func=_db_upgrade)
    return parser


def main(argv: List[str] | None = None) -> int:
    """Run one command."""
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
