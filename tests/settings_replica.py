"""The test host with a PostgreSQL primary and a streaming replica (``tests/test_replica.py``).

``DATABASE_URL`` is the primary ("default"; PostgreSQL on 127.0.0.1:5432 when
unset), ``DATABASE_REPLICA_URL`` the replica ("replica"; by default the
primary's URL on port 5433, where ``.ci/replica`` starts one). Reads go to
the replica and writes to the primary through ``skips.routers``.

The replica is the primary's test mirror (``TEST["MIRROR"]``): Django's test
runner creates no test database on it (a replica refuses to), and only gives
it the test database's name; the connection keeps the replica's host and
port, so reads reach the real replica, which replays the test database the
runner creates on the primary. A replica sees committed data only: the tests
that read it commit (``transaction=True``) and wait for it to catch up.
"""

import os

import dj_database_url

from tests.settings import *  # noqa: F403
from tests.settings import DATABASES

PRIMARY_URL = os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/test"

DATABASES["default"] = dj_database_url.parse(PRIMARY_URL, conn_max_age=0)
DATABASES["replica"] = {
    **(
        dj_database_url.parse(os.environ["DATABASE_REPLICA_URL"], conn_max_age=0)
        if os.environ.get("DATABASE_REPLICA_URL")
        else {**DATABASES["default"], "PORT": 5433}
    ),
    "TEST": {"MIRROR": "default"},
}
DATABASE_ROUTERS = ["skips.routers.PrimaryReplicaRouter"]
SKIPS_REPLICA_DATABASES = ["replica"]
SKIPS_READ_YOUR_WRITES_SECONDS = 5
