"""A live example project in its own process, for clients and browsers.

``live`` (session-scoped) sets up a scratch SQLite database with the example
project's own ``demo --no-serve`` (run twice: seeding must be idempotent), then
serves it with ``runserver`` on a free port of 127.0.0.1. The demo runs as the
README's first command does, without ``DJANGO_SECRET_KEY``; the server, as any
other run of the example project must, with one. The server's incremental export
has a one-second horizon and no rate limit; ``Live.manage`` runs the example
project's commands on the same database.
"""

from __future__ import annotations

import os
import secrets
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Live:
    def __init__(self, db_path: Path, port: int, env: dict[str, str] | None = None) -> None:
        self.db_path = db_path
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.env = env or {}

    def manage(self, *args: str) -> str:
        """Run ``manage.py`` on the live database, as the server runs; its output."""
        result = subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), *args],
            env=self.env,
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        )
        return result.stdout

    def sql(self, query: str, *args: Any) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.db_path) as db:
            return db.execute(query, args).fetchall()

    def user(self, username: str) -> tuple[int, str, str]:
        """(id, email, token key) of a demo user."""
        ((pk, email, key),) = self.sql(
            "SELECT u.id, u.email, t.key FROM auth_user u JOIN authtoken_token t"
            " ON t.user_id = u.id WHERE u.username = ?",
            username,
        )
        return pk, email, key

    def visible_skip_ids(self, where: str = "1=1", *args: Any) -> set[int]:
        rows = self.sql(
            "SELECT s.id FROM skips_skip s JOIN helpdesk_ticket t ON t.id = s.ticket_id"
            f" WHERE NOT t.is_archived AND {where}",
            *args,
        )
        return {row[0] for row in rows}


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    db_path = tmp_path_factory.mktemp("live") / "example.sqlite3"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{db_path}",
        "DJANGO_DEBUG": "0",
        "PYTHONUNBUFFERED": "1",
        # The incremental export: a short horizon, so that a walk sees changes
        # a second later, and no rate limit, for the clients and the fuzzing.
        "SKIPS_EXPORT_HORIZON_SECONDS": "1",
        "SKIPS_EXPORT_THROTTLE_RATE": "",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.pop("DJANGO_SECRET_KEY", None)
    manage = [sys.executable, str(ROOT / "manage.py")]
    # The README's demo, minus serving; twice, as seeding must be idempotent.
    for _ in range(2):
        subprocess.run(
            [*manage, "demo", "--no-serve", "--skips", "450"],
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
    port = free_port()
    env["DJANGO_SECRET_KEY"] = secrets.token_urlsafe(50)
    server = subprocess.Popen(
        [*manage, "runserver", f"127.0.0.1:{port}", "--noreload", "--insecure"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("the example project did not start") from None
                time.sleep(0.2)
        yield Live(db_path, port, env)
    finally:
        server.terminate()
        server.wait(timeout=10)
