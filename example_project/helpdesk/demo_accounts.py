"""The demo's people: who they are, what they may do, and their API tokens.

Every demo user has the password ``demo`` and an API token derived from the
username, ``sha1("demo-{username}")`` in hex, so that the keys can be printed
and documented. They are for a local demo only: anyone can compute them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

DEMO_PASSWORD = "demo"
EMAIL_DOMAIN = "example.com"
AGENTS_GROUP = "Agents"
SUPERVISORS_GROUP = "Supervisors"

#: Permissions of each auth group: agents record skips, supervisors also read
#: everyone's ("View only" or higher reports access).
GROUP_PERMISSIONS: dict[str, tuple[str, ...]] = {
    AGENTS_GROUP: ("skips.add_skip",),
    SUPERVISORS_GROUP: ("skips.add_skip", "skips.view_skip"),
}


@dataclass(frozen=True)
class DemoAccount:
    """A demo login with its role."""

    username: str
    role: str
    group: str | None = None
    is_staff: bool = False
    is_superuser: bool = False
    first_name: str = ""
    last_name: str = ""

    @property
    def email(self) -> str:
        return f"{self.username}@{EMAIL_DOMAIN}"

    @property
    def token(self) -> str:
        return demo_token(self.username)


def demo_token(username: str) -> str:
    """The fixed, public API token of a demo user: 40 hex characters."""
    return hashlib.sha1(f"demo-{username}".encode()).hexdigest()


ACCOUNTS: tuple[DemoAccount, ...] = (
    DemoAccount(
        "admin",
        "superuser: everything, and the admin",
        is_staff=True,
        is_superuser=True,
        first_name="Ada",
        last_name="Admin",
    ),
    DemoAccount(
        "supervisor",
        "agent with reports access: records skips, reads everyone's, uses the admin",
        group=SUPERVISORS_GROUP,
        is_staff=True,
        first_name="Sam",
        last_name="Supervisor",
    ),
    DemoAccount(
        "agent1",
        "agent: records skips, reads own",
        group=AGENTS_GROUP,
        first_name="Alice",
        last_name="Nguyen",
    ),
    DemoAccount(
        "agent2",
        "agent: records skips, reads own",
        group=AGENTS_GROUP,
        first_name="Bruno",
        last_name="Costa",
    ),
    DemoAccount(
        "agent3",
        "agent: records skips, reads own",
        group=AGENTS_GROUP,
        first_name="Chidi",
        last_name="Okafor",
    ),
    DemoAccount(
        "customer",
        "end user: no access to the skips API (403)",
        first_name="Casey",
        last_name="Customer",
    ),
)
