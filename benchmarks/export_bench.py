"""The admin's CSV export of every skip: PostgreSQL's COPY against Python's writer.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/skips_1m \\
        .venv/bin/python -m benchmarks.export_bench [--rounds 3] [--no-python] [--query Q]

Run by hand, on a data set of :mod:`benchmarks.build_dataset`, with the example
project's settings (``DEBUG`` off). Each export is
one ``GET /admin/skips/skip/export/`` through Django's test client, logged in
as a superuser (``bench-export-admin``, made for the run and deleted after it
with its sessions), its streamed body read to the end. Each runs in a process
of its own, so that its memory is its own: after a warm-up request (an export
of nothing) the process's peak RSS is reset (``/proc/self/clear_refs``), and
the growth reported is the peak during the export over the RSS before it.

Both ways, COPY (``SkipAdmin.export_with_copy = True``) and Python's writer
(False), alternate within each round, each round starting with the other; the
bodies' sha256 must agree. ``--no-python`` leaves Python's writer out (about
a minute a million rows here).

Reports rows (lines after the header; the data set's values hold no line
break), seconds from the request to the last byte, rows per second and the
peak RSS growth of each export, then the medians and their ratio, and the
CPU time a row of this process (Python) and of its PostgreSQL backend (read
from ``/proc``): steadier than seconds on a shared machine.

Measured here (2 cores shared with other benchmarks, load average 3.5-4.5;
PostgreSQL 15; Django's test client; the sha256 of each body included):

| data set | way | rows/s (median) | CPU a row: Python / PostgreSQL | peak RSS growth |
|---|---|---:|---|---:|
| skips_1m, 3 rounds | COPY | 130,881 | 1.94 / 3.91 us | 1.4 MiB |
| skips_1m, 3 rounds | Python's writer | 29,921 | 23.52 / 2.09 us | 6.0 MiB |
| skips_10m, 3 rounds | COPY | 174,550 (158,214-217,495) | 1.75 / 2.51 us | 1.5 MiB |
| skips_10m, 1 round (*) | COPY | 144,270 | 1.80 / 2.47 us | 1.4 MiB |
| skips_10m, 1 round (*) | Python's writer | 25,357 | 23.45 / 5.42 us | 6.3 MiB |

(*) ``--query created_to=2026-12-01``: 9,990,217 skips, leaving out the rows
other benchmarks were adding that day, so that both ways read the same rows.

COPY over Python's writer: 4.68x the rows a second at 1M (median of three
interleaved rounds), 5.69x at 10M (one round); the same bytes every time. The
COPY's two processes overlap (PostgreSQL writes the next rows while Python
passes the last ones on), so on two idle cores its rate is bound by the
larger CPU a row, PostgreSQL's.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.common import PREFIX, median

ADMIN = f"{PREFIX}export-admin"
EXPORT = "/admin/skips/skip/export/"
PATHS = {"copy": True, "python": False}


def setup_django() -> None:
    """The example project (its admin), without debugging, on one lasting connection."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "example_project.settings"
    os.environ["DJANGO_DEBUG"] = "0"
    os.environ.setdefault("DJANGO_SECRET_KEY", "benchmarks-only-not-secret")
    from django.conf import settings

    settings.DATABASES["default"]["CONN_MAX_AGE"] = None
    import django

    django.setup()


def status_kib(field: str) -> int:
    """A ``/proc/self/status`` figure (``VmRSS``, ``VmHWM``) in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def cpu_seconds(pid: int | None = None) -> float:
    """User and system CPU time of a process (this one by default), in seconds."""
    fields = Path(f"/proc/{pid or 'self'}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def reset_peak() -> bool:
    """Reset the process's peak RSS (Linux 4.0+); False where it cannot be."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def export_once(path: str, query: str) -> dict[str, Any]:
    """One export in this process (``--child``): its figures as a dict."""
    setup_django()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    from skips.admin import SkipAdmin

    SkipAdmin.export_with_copy = PATHS[path]
    client = Client()
    client.force_login(get_user_model()._default_manager.get(username=ADMIN))
    warm = client.get(EXPORT, {"created_from": "2999-01-01"})  # imports, connection, caches
    assert warm.status_code == 200, warm.status_code
    b"".join(warm.streaming_content)

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()" if connection.vendor == "postgresql" else "")
        backend = cursor.fetchone()[0] if connection.vendor == "postgresql" else None
    resettable = reset_peak()
    before = status_kib("VmRSS")
    cpu, server_cpu = cpu_seconds(), cpu_seconds(backend) if backend else 0.0
    peak = before
    digest = hashlib.sha256()
    lines = size = chunks = 0
    start = time.perf_counter()
    response = client.get(f"{EXPORT}?{query}" if query else EXPORT)
    assert response.status_code == 200, response.status_code
    for chunk in response.streaming_content:
        digest.update(chunk)
        lines += chunk.count(b"\r\n")
        size += len(chunk)
        chunks += 1
        if not resettable and chunks % 50 == 0:
            peak = max(peak, status_kib("VmRSS"))
    seconds = time.perf_counter() - start
    cpu = cpu_seconds() - cpu
    server_cpu = cpu_seconds(backend) - server_cpu if backend else 0.0
    peak = status_kib("VmHWM") if resettable else max(peak, status_kib("VmRSS"))
    client.logout()
    connection.close()
    return {
        "path": path,
        "rows": lines - 1,
        "bytes": size,
        "chunks": chunks,
        "seconds": seconds,
        "cpu": cpu,
        "server_cpu": server_cpu,
        "rss_before_mib": before / 1024,
        "rss_growth_mib": (peak - before) / 1024,
        "sha256": digest.hexdigest(),
    }


def run_child(path: str, query: str) -> dict[str, Any]:
    command = [sys.executable, "-m", "benchmarks.export_bench", "--child", path, "--query", query]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"the {path} export failed ({done.returncode})")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def make_admin() -> bool:
    """``bench-export-admin``, a superuser; True when this run made it (and deletes it)."""
    from django.contrib.auth import get_user_model

    manager: Any = get_user_model()._default_manager
    if manager.filter(username=ADMIN).exists():
        return False
    manager.create_user(username=ADMIN, is_staff=True, is_superuser=True)
    return True


def delete_admin() -> None:
    from django.contrib.auth import get_user_model
    from django.contrib.sessions.models import Session

    user = get_user_model()._default_manager.get(username=ADMIN)
    for session in Session.objects.iterator():
        if session.get_decoded().get("_auth_user_id") == str(user.pk):
            session.delete()
    user.delete()


def line(result: dict[str, Any]) -> str:
    rate = result["rows"] / result["seconds"]
    return (
        f"{result['path']:>6}: {result['rows']:>11,} rows {result['bytes'] / 2**20:>8,.1f} MiB"
        f" {result['seconds']:>7.2f} s {rate:>9,.0f} rows/s"
        f"  CPU: Python {result['cpu']:6.2f} s, PostgreSQL {result['server_cpu']:6.2f} s"
        f"  RSS growth {result['rss_growth_mib']:5.1f} MiB (from {result['rss_before_mib']:.0f})"
        f"  sha256 {result['sha256'][:16]}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-python", action="store_true", help="COPY only (for 10M skips)")
    parser.add_argument("--query", default="", help="the export's query string, e.g. archived=hide")
    parser.add_argument("--child", choices=list(PATHS), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(export_once(args.child, args.query)))
        return 0

    setup_django()
    from django.db import connection

    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}", flush=True)
    paths = ["copy"] if args.no_python else list(PATHS)
    made = make_admin()
    connection.close()
    results: dict[str, list[dict[str, Any]]] = {path: [] for path in paths}
    try:
        for round_ in range(args.rounds):
            order = paths if round_ % 2 == 0 else paths[::-1]
            print(f"round {round_ + 1}", flush=True)
            for path in order:
                result = run_child(path, args.query)
                results[path].append(result)
                print("  " + line(result), flush=True)
    finally:
        if made:
            delete_admin()
    print(f"medians of {args.rounds} rounds:")
    rates = {}
    for path, runs in results.items():
        rates[path] = median([r["rows"] / r["seconds"] for r in runs])
        print(
            f"  {path:>6}: {median([r['seconds'] for r in runs]):.2f} s,"
            f" {rates[path]:,.0f} rows/s, RSS growth"
            f" {median([r['rss_growth_mib'] for r in runs]):.1f} MiB"
            f" (max {max(r['rss_growth_mib'] for r in runs):.1f});"
            f" CPU a row: Python {median([r['cpu'] / r['rows'] * 1e6 for r in runs]):.2f} us,"
            f" PostgreSQL {median([r['server_cpu'] / r['rows'] * 1e6 for r in runs]):.2f} us"
        )
    same = True
    if len(rates) == 2:
        pairs = list(zip(results["copy"], results["python"], strict=True))
        ratios = [(c["rows"] / c["seconds"]) / (p["rows"] / p["seconds"]) for c, p in pairs]
        print(f"  COPY / Python rows per second: {median(ratios):.2f}x (median of the rounds)")
        # Compared within a round: the data set may change between rounds
        # (other benchmarks add and delete rows of their own).
        for round_, (c, p) in enumerate(pairs, 1):
            if c["sha256"] != p["sha256"]:
                same = False
                print(f"  round {round_}: DIFFERENT BYTES ({c['rows']:,} and {p['rows']:,} rows)")
        if same:
            print("  COPY and Python gave the same bytes in every round")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
