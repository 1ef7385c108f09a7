#!/usr/bin/env python3
"""Benchmarks: our IdP side by side with django-oauth-toolkit and node-oidc-provider, interleaved.

    .venv/bin/python bench/run.py            # the full run (about 10 minutes), Markdown tables on stdout
    .venv/bin/python bench/run.py --smoke    # CI: a short run; exits non-zero if any request failed

Each system runs on this machine on a free port: ours under gunicorn on PostgreSQL (database
``bench_oidc``, dropped and re-created) with the Redis cache, DOT's defaults under the same gunicorn
(``bench_dot``), node-oidc-provider under node (if ``npm ci`` was run in bench/peers/node). For each
scenario and concurrency the systems take turns (ours, DOT, node, ours, ...) so that noise from
the rest of the machine hits all alike. Server CPU per request is read from /proc for the
server's process tree (gunicorn master and workers, or node); the load generator (this process)
is not in it. PostgreSQL's CPU for the system's database is shown apart ("db ms").
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import secrets
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from tempfile import mkdtemp


sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import load, scenarios, systems  # noqa: E402
from bench.scenarios import DOT, NODE, OURS, Endpoints  # noqa: E402


PG = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
REDIS = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/4")
NODE_DIR = systems.BENCH / "peers" / "node"
ALL_SCENARIOS = (
    "healthz",
    "client_credentials",
    "introspection",
    "jwks",
    "discovery",
    "userinfo",
    "refresh",
    "auth_code_flow",
)


@dataclass
class Target:
    """A running system plus what its scenarios need."""

    system: systems.System
    endpoints: Endpoints
    steps: dict[str, Callable[[], load.Step]] = field(default_factory=dict)


# -- starting the systems ----------------------------------------------------------------------------
def django_env(settings: str, database_url: str, extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "CACHE_URL"))}
    return (
        env
        | {
            "DJANGO_SETTINGS_MODULE": settings,
            "DATABASE_URL": database_url,
            "SECRET_KEY": secrets.token_urlsafe(50),
            "DEBUG": "0",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "PYTHONPATH": str(systems.ROOT),
        }
        | extra
    )


def start_django(
    name: str, database: str, settings: str, wsgi: str, setup: Path, extra: dict, args, log_dir: Path, ready: str
) -> systems.System:
    """Fresh database, migrate, set-up script (prints the credentials), then gunicorn on a free port."""
    port = systems.free_port()
    database_url = f"{PG}/{database}?conn_max_age=600"
    extra = extra | {"IDP_BASE_URL": f"http://127.0.0.1:{port}", "PORT": str(port)}
    env = django_env(settings, database_url, extra)
    systems.recreate_database(database_url)
    systems.run_checked([systems.PYTHON, "manage.py", "migrate", "--noinput", "--settings", settings], env)
    info = json.loads(systems.run_checked([systems.PYTHON, str(setup)], env))
    process = systems.gunicorn(name, wsgi, env, port, args.workers, args.threads, log_dir)
    base_url = f"http://127.0.0.1:{port}"
    systems.wait_until_up(base_url + ready, process, log_dir / f"{name}.log")
    return systems.System(name, base_url, process, database_url, info, log_dir / f"{name}.log")


def start_ours(args, log_dir: Path) -> systems.System:
    extra = {
        "CACHE_URL": f"{REDIS}?key_prefix=bench-{secrets.token_hex(4)}",  # no entries from an earlier run
        "IDP_VAR_DIR": str(log_dir / "ours-var"),
        # The flows sign one user in from one address hundreds of times a second: the sign-in rate limits
        # (oidc_flows.authn.ratelimit) would refuse them. They are still counted, never reached.
        "IDP_AUTHN_RATE_LIMITS": json.dumps({"authn": {"username": [10**9, 60], "address": [10**9, 60]}}),
    }
    setup = systems.BENCH / "setup_ours.py"
    return start_django("ours", "bench_oidc", "idp.settings", "idp.wsgi", setup, extra, args, log_dir, OURS.discovery)


def rsa_pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def start_dot(args, log_dir: Path) -> systems.System:
    return start_django(
        "dot",
        "bench_dot",
        "bench.peers.dot_site.settings",
        "bench.peers.dot_site.wsgi",
        systems.BENCH / "peers" / "dot_site" / "setup.py",
        {"DOT_OIDC_RSA_PRIVATE_KEY": rsa_pem()},
        args,
        log_dir,
        DOT.discovery,
    )


def start_node(args, log_dir: Path) -> systems.System:
    import subprocess

    port = systems.free_port()
    secret = secrets.token_urlsafe(32)
    log = log_dir / "node.log"
    env = os.environ | {"PORT": str(port), "BENCH_CLIENT_SECRET": secret, "NODE_ENV": "production"}
    process = subprocess.Popen(
        ["node", "server.js"], cwd=NODE_DIR, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT
    )
    base_url = f"http://127.0.0.1:{port}"
    systems.wait_until_up(base_url + "/.well-known/openid-configuration", process, log)
    service = {"client_id": "bench-service", "secret": secret, "scope": "api:read"}
    return systems.System("node", base_url, process, "", {"service": service}, log)


# -- what each system runs ---------------------------------------------------------------------------
def prepare(system: systems.System, endpoints: Endpoints, chains: int) -> Target:
    """Tokens the scenarios start from (a code flow per refresh chain), and the steps."""
    info, target = system.info, Target(system, endpoints)
    client = load.Client(system.base_url)
    intro_extra = {"resource": "https://opaque.example/"} if system.name == "node" else None
    intro_token = scenarios.token_for_introspection(client, endpoints, info["service"], intro_extra)
    target.steps |= {
        "client_credentials": lambda: scenarios.client_credentials(endpoints, info["service"]),
        "introspection": lambda: scenarios.introspect(endpoints, info["service"], intro_token),
        "jwks": lambda: scenarios.get(endpoints.jwks, "jwks", "keys"),
        "discovery": lambda: scenarios.get(endpoints.discovery, "discovery", "issuer"),
    }
    if system.name == "ours":
        # The floor: gunicorn, Django and the middleware, no database (what any of our endpoints costs at least).
        target.steps["healthz"] = lambda: scenarios.get("/healthz", "healthz", "status")
    if endpoints.authorize:
        # One sign-in, then a code per chain: the refresh and userinfo scenarios start from these.
        flows = [scenarios.code_flow(client, endpoints, info["web"], info["user"]) for _ in range(chains)]
        refresh_tokens = [f["refresh_token"] for f in flows]
        access_token = flows[0]["access_token"]
        target.steps |= {
            "userinfo": lambda: scenarios.userinfo(endpoints, access_token),
            "refresh": lambda: scenarios.refresh(endpoints, info["web"], refresh_tokens),
            "auth_code_flow": lambda: scenarios.full_flow(endpoints, info["web"], info["user"]),
        }
    client.close()
    return target


@dataclass
class Row:
    result: load.Result = field(default_factory=load.Result)
    server_cpu: float = 0.0
    db_cpu: float = 0.0

    def per_request_ms(self, seconds: float) -> float:
        return 1000 * seconds / self.result.steps if self.result.steps else float("nan")


def measure(target: Target, scenario: str, concurrency: int, seconds: float) -> Row:
    system = target.system
    step = target.steps[scenario]()
    db_before = {pid: systems.cpu_seconds([pid]) for pid in system.db_pids()}
    cpu_before = system.server_cpu()
    result = load.run(system.base_url, step, concurrency, seconds)
    cpu_after = system.server_cpu()
    db_after = {pid: systems.cpu_seconds([pid]) for pid in system.db_pids()}
    db = sum(db_after.get(pid, 0) - db_before.get(pid, 0) for pid in db_after)
    return Row(result, cpu_after - cpu_before, max(db, 0.0))


# -- figures that need no server ---------------------------------------------------------------------
def signature_costs(n: int) -> dict[str, float]:
    """CPU ms of one jwcrypto signature (RS256: RSA-2048, ES256: P-256), and of loading a private JWK."""
    from jwcrypto import jwk, jws

    payload = json.dumps({"iss": "https://idp.example/oauth2/default", "sub": "client", "scp": ["api:read"]})
    costs = {}
    for alg, key in (("RS256", jwk.JWK.generate(kty="RSA", size=2048)), ("ES256", jwk.JWK.generate(kty="EC"))):
        start = time.process_time()
        for _ in range(n):
            token = jws.JWS(payload)
            token.add_signature(key, alg=alg, protected={"alg": alg})
            token.serialize(compact=True)
        costs[f"{alg} sign"] = 1000 * (time.process_time() - start) / n
        exported = key.export_private()
        start = time.process_time()
        for _ in range(max(n // 10, 3)):
            jwk.JWK.from_json(exported).get_op_key("sign")  # RSA: the key's consistency check dominates
        costs[f"{alg} private JWK parse and load (once per key and process now)"] = (
            1000 * (time.process_time() - start) / max(n // 10, 3)
        )
    return costs


def password_hash_costs(n: int) -> dict[str, float]:
    """CPU ms of one password hash: Argon2id at our parameters, and Django's default PBKDF2."""
    costs = {}
    try:
        from argon2 import PasswordHasher, Type

        from oidc_flows.hashers import ARGON2_PARAMETERS

        hasher = PasswordHasher(type=Type.ID, **ARGON2_PARAMETERS)
        start, wall = time.process_time(), time.perf_counter()
        for _ in range(n):
            hasher.hash("correct horse battery staple")
        costs["Argon2id (m=19 MiB, t=2, p=1)"] = 1000 * (time.process_time() - start) / n
        costs["Argon2id wall"] = 1000 * (time.perf_counter() - wall) / n
    except ImportError as exc:
        print(f"(Argon2id cost not measured: {exc})", file=sys.stderr)
    start = time.process_time()
    hashlib.pbkdf2_hmac("sha256", b"correct horse battery staple", b"salt" * 4, 1_000_000)
    costs["PBKDF2-SHA256 (Django 5.2 default, 1,000,000 iterations)"] = 1000 * (time.process_time() - start)
    return costs


# -- printing ----------------------------------------------------------------------------------------
def table(scenario: str, concurrency: int, rows: dict[str, Row]) -> str:
    lines = [
        f"\n#### {scenario}, concurrency {concurrency}\n",
        "| system | req/s | p50 ms | p99 ms | server CPU ms/req | db CPU ms/req | requests | errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, row in rows.items():
        r = row.result
        lines.append(
            f"| {name} | {r.rate:.0f} | {r.percentile(50):.1f} | {r.percentile(99):.1f} "
            f"| {row.per_request_ms(row.server_cpu):.2f} | {row.per_request_ms(row.db_cpu):.2f} "
            f"| {r.steps} | {r.errors} |"
        )
    ours = rows.get("ours")
    for name, row in rows.items():
        if ours is None or name == "ours" or not row.result.steps or not ours.result.steps:
            continue
        cpu = ours.per_request_ms(ours.server_cpu) / row.per_request_ms(row.server_cpu) if row.server_cpu else 0
        rate = ours.result.rate / row.result.rate if row.result.rate else float("inf")
        lines.append(f"\nours / {name}: server CPU per request ×{cpu:.2f}, req/s ×{rate:.2f}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="short run for CI (< 60 s)")
    parser.add_argument("--seconds", type=float, default=4.0, help="per system, scenario, concurrency and round")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds (ours, dot, node, ours, ...)")
    parser.add_argument("--concurrency", default="1,8,32")
    parser.add_argument("--systems", default="ours,dot,node")
    parser.add_argument("--scenarios", default=",".join(ALL_SCENARIOS))
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="gunicorn workers (both Djangos)")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker (gthread: keep-alive)")
    args = parser.parse_args()
    if args.smoke:
        # CI: ours and one peer (node if installed: it starts in a second), every scenario, under a minute.
        args.seconds, args.rounds, args.concurrency = 0.5, 1, "1,8"
        if args.systems == parser.get_default("systems"):
            args.systems = "ours,node" if (NODE_DIR / "node_modules").exists() else "ours,dot"
    levels = [int(c) for c in args.concurrency.split(",")]
    wanted = args.systems.split(",")
    if "node" in wanted and not (NODE_DIR / "node_modules").exists():
        print("node-oidc-provider skipped: run `npm ci` in bench/peers/node first", file=sys.stderr)
        wanted.remove("node")

    log_dir = Path(mkdtemp(prefix="oidc-bench-"))
    started: list[systems.System] = []
    targets: dict[str, Target] = {}
    failed = 0
    began = time.monotonic()
    try:
        starters = {"ours": (start_ours, OURS), "dot": (start_dot, DOT), "node": (start_node, NODE)}
        for name in wanted:
            system = starters[name][0](args, log_dir)
            started.append(system)
            targets[name] = prepare(system, starters[name][1], max(levels))
        print(f"# oidc_flows benchmarks — {time.strftime('%Y-%m-%d %H:%M %Z')}, {machine()}")
        print(f"\ncommand: {' '.join(sys.argv)}; logs in {log_dir}")
        print(f"gunicorn: {args.workers} workers × {args.threads} threads (gthread); node: one process")
        for scenario in args.scenarios.split(","):
            runners = {name: t for name, t in targets.items() if scenario in t.steps}
            if scenario == "client_credentials" and "dot" in runners and not args.smoke:
                runners["dot (hashed secret)"] = dot_hashed(targets["dot"])
            print(f"\n### {scenario}")
            for concurrency in levels:
                rows: dict[str, Row] = {}
                for target in runners.values():
                    load.run(target.system.base_url, target.steps[scenario](), 1, min(0.3, args.seconds))  # warm
                for _ in range(args.rounds):
                    for name, target in runners.items():
                        if name.endswith("(hashed secret)") and concurrency > 8:
                            continue  # half a second per request: c=32 would only queue
                        row = measure(target, scenario, concurrency, args.seconds)
                        total = rows.setdefault(name, Row())
                        total.result.merge(row.result)
                        total.server_cpu += row.server_cpu
                        total.db_cpu += row.db_cpu
                for name, row in rows.items():
                    if row.result.errors:
                        failed += row.result.errors
                        print(f"\nFAILED {name} {scenario} c={concurrency}: {row.result.first_error}", file=sys.stderr)
                print(table(scenario, concurrency, rows), flush=True)
        print("\n### CPU cost of one signature here (jwcrypto, in-process)\n")
        for what, ms in signature_costs(20 if args.smoke else 200).items():
            print(f"- {what}: {ms:.3f} ms")
        print("\n### Password hashing (CPU per hash)\n")
        for what, ms in password_hash_costs(3 if args.smoke else 20).items():
            print(f"- {what}: {ms:.1f} ms")
    finally:
        for system in started:
            system.stop()
    print(f"\n{time.monotonic() - began:.0f} s in total; {failed} failed requests")
    return 1 if failed else 0


def dot_hashed(target: Target) -> Target:
    """DOT with its default client secret hashing (Django's PBKDF2 on every token request)."""
    hashed = Target(target.system, target.endpoints)
    hashed.steps["client_credentials"] = lambda: scenarios.client_credentials(
        target.endpoints, target.system.info["service_hashed"]
    )
    return hashed


def machine() -> str:
    lines = Path("/proc/cpuinfo").read_text().splitlines()
    model = next((line.split(":", 1)[1].strip() for line in lines if "model name" in line), "unknown CPU")
    return f"{os.cpu_count()} CPUs ({model}), Python {sys.version.split()[0]}"


if __name__ == "__main__":
    sys.exit(main())
