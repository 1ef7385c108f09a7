#!/usr/bin/env python3
"""Benchmark of the Authentication API: server CPU per primary authentication and per TOTP verification.

    .venv/bin/python bench/authn.py                       # PostgreSQL + Redis, concurrency 1, 8, 32
    .venv/bin/python bench/authn.py --database sqlite     # the embedded default: SQLite, local-memory cache
    .venv/bin/python bench/authn.py --smoke               # CI: a short run (< 30 s); non-zero exit on any failure

Scenarios, each one request per step against our IdP under gunicorn with the project's gunicorn.conf.py
(like bench/run.py, whose helpers this reuses):

- ``primary``: ``POST /api/v1/authn`` with the password of a user without factors, answered SUCCESS with a
  sessionToken. The password is hashed with the hasher idp/settings.py configures (Argon2id), not the
  tests' fast one.
- ``totp_verify``: ``POST /api/v1/authn/factors/{id}/verify`` with a TOTP code, answered SUCCESS. A time
  step is accepted once per factor, so every verification has its own user, factor and transaction in
  MFA_REQUIRED, prepared before the server starts by this script itself (``BENCH_AUTHN_ROLE=setup``, run with the
  server's environment, like bench/setup_ours.py).
- ``healthz``: the floor (gunicorn, Django, middleware, no database).

The sign-in rate limits (oidc_flows/authn/ratelimit.py: 10 per username and 60 per address a minute)
would refuse the benchmark within a second: the server runs with ``IDP_AUTHN_RATE_LIMITS`` raising them
(``OIDC_FLOWS["AUTHN_RATE_LIMITS"]``). They are still counted (the cache round trips stay in the
figures), just never reached.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from tempfile import mkdtemp


sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pyotp  # noqa: E402

from bench import load, run, scenarios, systems  # noqa: E402


ROLE = "BENCH_AUTHN_ROLE"  # "setup": this script prints the prepared data
COUNT = "BENCH_AUTHN_MFA_TRANSACTIONS"
LIMITS_ENV = "IDP_AUTHN_RATE_LIMITS"
#: Every bucket's limits as (requests, seconds): counted, never reached.
HIGH_LIMITS = {bucket: {"username": [10**9, 60], "address": [10**9, 60]} for bucket in ("authn", "factor", "recovery")}
PASSWORD = "bench: correct horse battery staple"
PRIMARY_USER = "bench-primary"
JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}
SCENARIOS = ("healthz", "primary", "totp_verify")


# -- the server side: set-up script and WSGI application --------------------------------------------------


def setup() -> None:
    """Users and MFA_REQUIRED transactions in the server's database; the credentials as JSON on stdout."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "idp.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from oidc_flows import sealing
    from oidc_flows.authn import machine, onetime
    from oidc_flows.authn.models import AuthnStatus, Factor, FactorStatus, FactorType, Transaction

    users = get_user_model().objects
    primary = users.create_user(PRIMARY_USER, email="bench-primary@example.com", password=PASSWORD)
    count = int(os.environ[COUNT])
    # One Argon2id hash for all (each would cost ~30 ms here); nobody signs in with these passwords.
    created = users.bulk_create(
        [users.model(username=f"bench-mfa-{i}", password=primary.password) for i in range(count)], batch_size=1000
    )
    mfa_users = list(users.filter(username__startswith="bench-mfa-").order_by("id"))
    assert len(mfa_users) == len(created)
    now = timezone.now()
    secrets_, factors = [], []
    for user in mfa_users:
        secret = pyotp.random_base32(32)
        secrets_.append(secret)
        factors.append(
            Factor(
                user=user,
                factor_type=FactorType.TOTP,
                status=FactorStatus.ACTIVE,
                secret=sealing.seal(secret),
                profile={"credentialId": user.username},
                activated=now,
            )
        )
    Factor.objects.bulk_create(factors, batch_size=1000)
    # What machine.start leaves after the password of a user with an authenticator app (machine._open),
    # living an hour instead of five minutes so that the run can use them all.
    context = machine.Context().stored()
    raws, transactions = [], []
    for user in mfa_users:
        raw = onetime.new_token()
        raws.append(raw)
        transactions.append(
            Transaction(
                token_hash=onetime.digest(raw, purpose="state"),
                user=user,
                status=AuthnStatus.MFA_REQUIRED,
                expires=now + timedelta(hours=1),
                amr=["pwd"],
                auth_time=now,
                context=context,
            )
        )
    Transaction.objects.bulk_create(transactions, batch_size=1000)
    json.dump(
        {
            "primary": {"username": PRIMARY_USER, "password": PASSWORD},
            "password_hasher": primary.password.split("$", 1)[0],
            "mfa": [{"factor": f.pk, "secret": s, "state": r} for f, s, r in zip(factors, secrets_, raws, strict=True)],
        },
        sys.stdout,
    )


# -- the load side ------------------------------------------------------------------------------------------


def start(args: argparse.Namespace, log_dir: Path) -> systems.System:
    """Fresh database, migrate, the set-up above, then the HTTP server on a free port (bench/run.py's way)."""
    port = systems.free_port()
    extra = {
        "IDP_BASE_URL": f"http://127.0.0.1:{port}",
        "PORT": str(port),
        "IDP_VAR_DIR": str(log_dir / "var"),
        COUNT: str(args.mfa_transactions),
    }
    if args.database == "postgres":
        database_url = f"{run.PG}/{args.db_prefix}_authn"
        systems.recreate_database(database_url)
        extra["CACHE_URL"] = f"{run.REDIS}?key_prefix=bench-authn-{os.getpid()}-{int(time.time())}"
    else:
        database_url = f"sqlite:///{log_dir / 'bench.sqlite3'}"
    env = run.django_env("idp.settings", database_url, extra | {LIMITS_ENV: json.dumps(HIGH_LIMITS)})
    systems.run_checked([systems.PYTHON, "manage.py", "migrate", "--noinput"], env)
    began = time.monotonic()
    info = json.loads(systems.run_checked([systems.PYTHON, str(Path(__file__).resolve())], env | {ROLE: "setup"}))
    info["setup_seconds"] = time.monotonic() - began
    workers = run.workers(args, args.server)
    process = systems.serve(args.server, "idp.wsgi", env, port, workers, args.threads, log_dir / "ours.log")
    base_url = f"http://127.0.0.1:{port}"
    systems.wait_until_up(base_url + "/healthz", process, log_dir / "ours.log")
    system = systems.System("ours", base_url, process, database_url if args.database == "postgres" else "", info)
    system.log = log_dir / "ours.log"
    return system


def _expect_success(response: load.Response, what: str) -> None:
    if response.status != 200 or b'"status":"SUCCESS"' not in response.body.replace(b" ", b""):
        raise load.Failed(f"{what}: {response.status} {response.body[:200]!r}")
    if b"sessionToken" not in response.body:
        raise load.Failed(f"{what}: no sessionToken")


def primary_step(info: dict) -> load.Step:
    body = json.dumps(info["primary"])

    def step(client: load.Client, _index: int) -> None:
        _expect_success(client.request("POST", "/api/v1/authn", body, JSON_HEADERS), "primary authentication")

    return step


class Prepared:
    """The MFA_REQUIRED transactions, each used once, shared by the load threads."""

    def __init__(self, items: list[dict]) -> None:
        self.items, self.next, self.lock = items, 0, threading.Lock()

    def take(self) -> dict:
        with self.lock:
            if self.next >= len(self.items):
                raise load.Failed("out of prepared MFA transactions: raise --mfa-transactions")
            self.next += 1
            return self.items[self.next - 1]

    @property
    def left(self) -> int:
        return len(self.items) - self.next


def verify_step(prepared: Prepared) -> load.Step:
    def step(client: load.Client, _index: int) -> None:
        item = prepared.take()
        code = pyotp.TOTP(item["secret"]).now()
        body = json.dumps({"stateToken": item["state"], "passCode": code})
        response = client.request("POST", f"/api/v1/authn/factors/{item['factor']}/verify", body, JSON_HEADERS)
        _expect_success(response, "TOTP verification")

    return step


def healthz_step() -> load.Step:
    return scenarios.get("/healthz", "healthz", "status")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="short run for CI (< 30 s)")
    parser.add_argument("--database", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--seconds", type=float, default=4.0, help="per scenario, concurrency and round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--concurrency", default="1,8,32")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--db-prefix", default=os.environ.get("BENCH_DB_PREFIX", "bench"), help="<prefix>_authn")
    parser.add_argument("--server", choices=systems.SERVERS, default="granian", help="as bench/run.py's")
    parser.add_argument("--workers", type=int, default=0, help="worker processes (default: as bench/run.py's)")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker (gthread; granian's blocking)")
    parser.add_argument("--mfa-transactions", type=int, default=8000, help="prepared for totp_verify")
    args = parser.parse_args()
    args.servers = [args.server]
    if args.smoke:
        args.seconds, args.rounds, args.concurrency = 0.7, 1, "1,4"
        if args.mfa_transactions == parser.get_default("mfa_transactions"):
            args.mfa_transactions = 600
    levels = [int(c) for c in args.concurrency.split(",")]

    log_dir = Path(mkdtemp(prefix="oidc-bench-authn-"))
    began = time.monotonic()
    failed = 0
    system = start(args, log_dir)
    try:
        info = system.info
        prepared = Prepared(info["mfa"])
        target = run.Target("ours", system, None)
        target.steps |= {
            "healthz": healthz_step,
            "primary": lambda: primary_step(info),
            "totp_verify": lambda: verify_step(prepared),
        }
        print(f"# oidc_flows Authentication API benchmark — {time.strftime('%Y-%m-%d %H:%M %Z')}, {run.machine()}")
        print(f"\ncommand: {' '.join(sys.argv)}; logs in {log_dir}")
        database = "PostgreSQL + Redis cache" if args.database == "postgres" else "SQLite + local-memory cache"
        print(
            f"{run.servers_line(args)}; {database}; "
            f"password hasher: {info['password_hasher']}; rate limits raised ({LIMITS_ENV}); "
            f"{len(info['mfa'])} MFA transactions prepared in {info['setup_seconds']:.1f} s"
        )
        for scenario in args.scenarios.split(","):
            print(f"\n### {scenario}")
            for concurrency in levels:
                load.run(system.base_url, target.steps[scenario](), 1, min(0.3, args.seconds))  # warm
                total = run.Row()
                for _ in range(args.rounds):
                    total.add(run.measure(target, scenario, concurrency, args.seconds))
                if total.result.errors:
                    failed += total.result.errors
                    print(f"\nFAILED {scenario} c={concurrency}: {total.result.first_error}", file=sys.stderr)
                print(run.table(scenario, concurrency, {"ours": total}, {"ours": "ours"}), flush=True)
        print(f"\n{prepared.left} prepared MFA transactions left unused")
        if not args.smoke:
            print("\n### Password hashing in this process (CPU per hash)\n")
            for what, ms in run.password_hash_costs(10).items():
                print(f"- {what}: {ms:.1f} ms")
    finally:
        system.stop()
    print(f"\n{time.monotonic() - began:.0f} s in total; {failed} failed requests")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(setup() if os.environ.get(ROLE) == "setup" else main())
