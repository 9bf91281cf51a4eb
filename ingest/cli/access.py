"""`python -m ingest tokens issue` (development tokens of the read API) and `python -m ingest forget`."""

from __future__ import annotations

import argparse

from ingest.settings import Settings


def _cmd_tokens_issue(args: argparse.Namespace, settings: Settings) -> int:
    from ingest.access.tokens import issue

    print(issue(settings.read_api, args.role, args.subject, args.school, ttl_seconds=args.ttl_minutes * 60))
    return 0


def _cmd_forget(args: argparse.Namespace, settings: Settings) -> int:
    from ingest.warehouse.erasure import forget

    report = forget(settings, args.student_id, args.reason)
    print(f"erased the student (recorded in ops.erasures): {report.line()}")
    return 0


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    tokens = commands.add_parser(
        "tokens", help="bearer tokens of the read API (python -m readapi serve)",
        description="Development tokens, signed HS256 with READ_API_JWT_SECRET (at least 32 characters). "
                    "Production tokens come from your identity provider (RS256, READ_API_JWKS).")
    actions = tokens.add_subparsers(dest="tokens_command", required=True, metavar="ACTION")
    issue = actions.add_parser("issue", help="print a signed token for a role",
                               description="Roles: teacher (SUBJECT is their roster id: their classes only), "
                                           "school_admin (--school: that school), ml_service (features only), "
                                           "analyst (every mart, hashed ids only).")
    issue.add_argument("--role", required=True, choices=("teacher", "school_admin", "ml_service", "analyst"))
    issue.add_argument("--subject", required=True, help="who: a teacher's roster id, a service or person name")
    issue.add_argument("--school", help="the school of a school_admin")
    issue.add_argument("--ttl-minutes", type=float, default=60.0, help="lifetime (default 60)")
    issue.set_defaults(func=_cmd_tokens_issue)

    forget = commands.add_parser(
        "forget", help="erase a student everywhere: raw zone, warehouse, history; record it in ops.erasures",
        description="Removes the student's records from the raw zone (RAW_ZONE_URL, files rewritten atomically), "
                    "every table of the warehouse and its history (older snapshots are expired and their files "
                    "deleted, so time travel ends here), then records a one-way digest of their hash, the time "
                    "and the reason in ops.erasures: staging drops them from every later build.")
    forget.add_argument("student_id", metavar="STUDENT_ID", help="the LMS student id (as in the events)")
    forget.add_argument("--reason", required=True, help="why (recorded), e.g. 'parent request 2026-01-05'")
    forget.set_defaults(func=_cmd_forget)
