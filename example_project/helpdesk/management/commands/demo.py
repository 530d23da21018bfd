"""``manage.py demo``: migrate, seed, print how to log in and call the API, serve.

It serves with ``DEBUG`` off, as set (``DJANGO_DEBUG``), and the static files
with runserver's ``--insecure``. Without ``DJANGO_SECRET_KEY``, the settings
make up a throwaway key for this run (see ``example_project/settings.py``).
"""

from __future__ import annotations

import json
import os
import shlex
from argparse import ArgumentParser
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand

from example_project.helpdesk.demo_accounts import ACCOUNTS, DEMO_PASSWORD
from example_project.helpdesk.management.commands.seed_demo import DEFAULT_SKIPS
from example_project.helpdesk.models import Ticket

DEFAULT_ADDRPORT = "127.0.0.1:8000"


def base_url(addrport: str) -> str:
    """``http://host:port`` of a runserver address (a bare port means 127.0.0.1)."""
    if addrport.isdigit():
        return f"http://127.0.0.1:{addrport}"
    host, _sep, port = addrport.rpartition(":")
    if host in ("", "0.0.0.0", "[::]"):
        host = "127.0.0.1"
    return f"http://{host}:{port}"


class Command(BaseCommand):
    help = (
        "Run the demo: migrate, seed demo data, print logins, tokens and curl "
        "examples, then serve the example project."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--addrport",
            default=DEFAULT_ADDRPORT,
            help=f"Address and port to serve on (default {DEFAULT_ADDRPORT}).",
        )
        parser.add_argument(
            "--no-serve",
            action="store_true",
            help="Do everything but start the server.",
        )
        parser.add_argument(
            "--skips",
            type=int,
            default=DEFAULT_SKIPS,
            metavar="N",
            help=f"Total number of demo skips (default {DEFAULT_SKIPS}).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0, stdout=self.stdout)
        call_command("seed_demo", skips=options["skips"], stdout=self.stdout)
        self.print_guide(base_url(options["addrport"]))
        if not options["no_serve"]:
            # The admin's and the API docs' static files, with DEBUG off: a local demo.
            call_command(
                "runserver", options["addrport"], use_reloader=False, insecure_serving=True
            )

    def print_guide(self, url: str) -> None:
        """Logins, tokens and ready-made requests against ``url``."""
        write = self.stdout.write
        write(self.style.MIGRATE_HEADING("\nDemo logins (password for all: demo)"))
        for account in ACCOUNTS:
            write(f"  {account.username:<11} {account.email:<24} {account.role}")
        write(self.style.MIGRATE_HEADING("\nAPI tokens (fixed, public: for this demo only)"))
        for account in ACCOUNTS:
            write(f"  {account.username:<11} {account.token}")
        write(self.style.MIGRATE_HEADING("\nTry the API"))
        for line in self.curl_lines(url):
            write(f"  {line}")
        write(self.style.MIGRATE_HEADING("\nIn a browser"))
        write(f"  Admin:          {url}/admin/  (admin or supervisor, password {DEMO_PASSWORD})")
        write(f"  Browsable API:  {url}/api-auth/login/?next=/api/v2/skips")
        write(f"  API docs:       {url}/api/docs/")
        if not os.environ.get("DJANGO_SECRET_KEY"):
            write(
                "\nNo DJANGO_SECRET_KEY: this run has a throwaway secret key, so logins and "
                "cursors last as long as it does."
            )
        write("")

    def curl_lines(self, url: str) -> list[str]:
        """curl commands for each route, as the demo users."""
        agent = next(account for account in ACCOUNTS if account.username == "agent1")
        supervisor = next(account for account in ACCOUNTS if account.username == "supervisor")
        ticket = Ticket.objects.filter(is_archived=False).order_by("pk").first()
        ticket_id = ticket.pk if ticket is not None else 1
        body = shlex.quote(
            json.dumps({"skip": {"ticket_id": ticket_id, "reason": "I have no idea."}})
        )
        as_agent = f"-u {agent.email}/token:{agent.token}"
        return [
            "# agent1's own skips (API token over HTTP Basic, as the reference clients send it)",
            f"curl {as_agent} {url}/api/v2/skips.json",
            "# the same with a bearer token",
            f'curl -H "Authorization: Bearer {agent.token}" {url}/api/v2/skips.json',
            "# record a skip as agent1",
            f'curl {as_agent} -H "Content-Type: application/json" -X POST '
            f"-d {body} {url}/api/v2/skips.json",
            "# the current user's skips, and one ticket's",
            f"curl {as_agent} {url}/api/v2/users/me/skips.json",
            f"curl {as_agent} {url}/api/v2/tickets/{ticket_id}/skips.json",
            "# everyone's skips, newest first, with cursor pagination (reports access)",
            f"curl -g -u {supervisor.email}/token:{supervisor.token} "
            f"'{url}/api/v2/skips.json?sort_order=desc&page[size]=10'",
        ]
