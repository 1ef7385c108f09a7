#!/usr/bin/env python3
"""Benchmarks: our IdP side by side with django-oauth-toolkit and node-oidc-provider, interleaved.

    .venv/bin/python bench/run.py            # the full run (about 10 minutes), Markdown tables on stdout
    .venv/bin/python bench/run.py --smoke    # CI: a short run; exits non-zero if any request failed
    .venv/bin/python bench/run.py --database sqlite --server gthread,granian --systems ours,node

Each system runs on this machine on a free port: ours on PostgreSQL (database ``<prefix>_oidc``,
dropped and re-created) with the Redis cache, or on SQLite with the local-memory cache as ``make
run`` configures it (``--database sqlite``); DOT's defaults on the same database kind
(``<prefix>_dot``); node-oidc-provider under node (if ``npm ci`` was run in bench/peers/node). The
two Djangos run under granian with the project's granian_conf.py (as ``make run``), gunicorn's
gthread workers with its gunicorn.conf.py, or gunicorn's sync workers (``--server``; several,
comma-separated, run side by side). For each scenario and concurrency the systems take turns (ours,
DOT, node, ours, ...) so that noise from the rest of the machine hits all alike. Server CPU per
request is read from /proc for the server's process tree (granian or gunicorn and their workers,
or node); the load generator (this process) is not in it. PostgreSQL's CPU for the system's
database is shown apart ("db ms"). The run ends with issue 13's targets, each met or missed by
this run's figures.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import secrets
import sys
import time
from collections import Counter
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
ES256 = "client_credentials_es256"
PKJWT_DPOP = "client_credentials_private_key_jwt_dpop"
ALL_SCENARIOS = (
    "healthz",
    "client_credentials",
    ES256,
    PKJWT_DPOP,
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

    kind: str  # ours, dot or node; the system's name tells variants apart ("ours (granian)")
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
            # gunicorn.conf.py's persistent connections, whatever the server (granian does not read that file).
            "CONN_MAX_AGE": "60",
        }
        | extra
    )


def database_url(args, database: str, log_dir: Path) -> str:
    if args.database == "sqlite":
        return f"sqlite:///{log_dir / database}.sqlite3"
    return f"{PG}/{database}?conn_max_age=600"  # DOT's settings read it; ours reads CONN_MAX_AGE (above)


def start_django(
    name: str, server: str, database: str, settings: str, wsgi: str, setup: Path, extra: dict, args, log_dir: Path
) -> systems.System:
    """Fresh database, migrate, set-up script (prints the credentials), then the server on a free port."""
    port = systems.free_port()
    url = database_url(args, database, log_dir)
    extra = extra | {"IDP_BASE_URL": f"http://127.0.0.1:{port}", "PORT": str(port)}
    env = django_env(settings, url, extra)
    systems.recreate_database(url)
    systems.run_checked([systems.PYTHON, "manage.py", "migrate", "--noinput", "--settings", settings], env)
    info = json.loads(systems.run_checked([systems.PYTHON, str(setup)], env))
    log = log_dir / f"{database}.log"
    process = systems.serve(server, wsgi, env, port, workers(args, server), args.threads, log)
    base_url = f"http://127.0.0.1:{port}"
    return systems.System(name, base_url, process, url, info, log)


def start_ours(name: str, server: str, args, log_dir: Path) -> systems.System:
    extra = {
        "IDP_VAR_DIR": str(log_dir / f"{name}-var"),
        # The flows sign one user in from one address hundreds of times a second: the sign-in rate limits
        # (oidc_flows.authn.ratelimit) would refuse them. They are still counted, never reached.
        "IDP_AUTHN_RATE_LIMITS": json.dumps({"authn": {"username": [10**9, 60], "address": [10**9, 60]}}),
    }
    if args.database == "postgres":  # on SQLite, make run's local-memory cache (idp/settings.py's default)
        extra["CACHE_URL"] = f"{REDIS}?key_prefix=bench-{secrets.token_hex(4)}"  # no entries from an earlier run
    setup = systems.BENCH / "setup_ours.py"
    database = f"{args.db_prefix}_oidc" + (f"_{server}" if len(args.servers) > 1 else "")
    return start_django(name, server, database, "idp.settings", "idp.wsgi", setup, extra, args, log_dir)


def rsa_pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def start_dot(name: str, server: str, args, log_dir: Path) -> systems.System:
    return start_django(
        name,
        server,
        f"{args.db_prefix}_dot" + (f"_{server}" if len(args.servers) > 1 else ""),
        "bench.peers.dot_site.settings",
        "bench.peers.dot_site.wsgi",
        systems.BENCH / "peers" / "dot_site" / "setup.py",
        {"DOT_OIDC_RSA_PRIVATE_KEY": rsa_pem()},
        args,
        log_dir,
    )


def start_node(name: str, server: str, args, log_dir: Path) -> systems.System:
    import subprocess

    port = systems.free_port()
    secret = secrets.token_urlsafe(32)
    log = log_dir / "node.log"
    env = os.environ | {"PORT": str(port), "BENCH_CLIENT_SECRET": secret, "NODE_ENV": "production"}
    process = subprocess.Popen(
        ["node", "server.js"], cwd=NODE_DIR, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT
    )
    service = {"client_id": "bench-service", "secret": secret, "scope": "api:read"}
    return systems.System(name, f"http://127.0.0.1:{port}", process, "", {"service": service}, log)


def workers(args, server: str) -> int:
    """Worker processes: --workers, else one per CPU (gthread, granian: threads wait on I/O) or gunicorn's
    advice for sync workers, 2 × CPUs + 1 (each process serves one connection at a time)."""
    cpus = os.cpu_count() or 2
    return args.workers or (2 * cpus + 1 if server == "sync" else cpus)


# -- what each system runs ---------------------------------------------------------------------------
def prepare(kind: str, system: systems.System, endpoints: Endpoints, chains: int) -> Target:
    """Tokens the scenarios start from (a code flow per refresh chain), and the steps."""
    info, target = system.info, Target(kind, system, endpoints)
    client = load.Client(system.base_url)
    intro_extra = {"resource": "https://opaque.example/"} if kind == "node" else None
    intro_token = scenarios.token_for_introspection(client, endpoints, info["service"], intro_extra)
    target.steps |= {
        "client_credentials": lambda: scenarios.client_credentials(endpoints, info["service"]),
        "introspection": lambda: scenarios.introspect(endpoints, info["service"], intro_token),
        "jwks": lambda: scenarios.get(endpoints.jwks, "jwks", "keys"),
        "discovery": lambda: scenarios.get(endpoints.discovery, "discovery", "issuer"),
    }
    if kind == "ours":
        # The floor: the HTTP server, Django and the middleware, no database (what any endpoint costs at least).
        target.steps["healthz"] = lambda: scenarios.get("/healthz", "healthz", "status")
    # The same JWT access token signed ES256 (P-256): ours on a server whose keys are ES256, node for a
    # resource whose tokens are. DOT's client_credentials tokens are opaque: nothing to sign.
    es256 = {
        "ours": (scenarios.ours_on(info.get("es256_server", "")), None),
        "node": (endpoints, {"resource": scenarios.NODE_ES256_RESOURCE}),
    }
    if kind in es256:
        es_endpoints, es_extra = es256[kind]
        token = scenarios.token_for_introspection(client, es_endpoints, info["service"], es_extra)
        if (alg := scenarios.jwt_header(token).get("alg")) != "ES256":
            raise RuntimeError(f"{system.name}: the ES256 scenario's access token is signed {alg}")
        target.steps[ES256] = lambda: scenarios.client_credentials(es_endpoints, info["service"], es_extra)
    if "pkjwt_service" in info:
        # The same grant, the client proving itself with a signed assertion and the token bound to a DPoP key.
        target.steps[PKJWT_DPOP] = lambda: scenarios.client_credentials_private_key_jwt_dpop(
            system.base_url, endpoints, info["pkjwt_service"]
        )
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

    def add(self, other: Row) -> None:
        self.result.merge(other.result)
        self.server_cpu += other.server_cpu
        self.db_cpu += other.db_cpu


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
def table(scenario: str, concurrency: int, rows: dict[str, Row], kinds: dict[str, str]) -> str:
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
    lines.append("")
    for mine, ours in rows.items():
        for name, row in rows.items():
            if kinds[mine] != "ours" or kinds[name] == "ours" or not row.result.steps or not ours.result.steps:
                continue
            cpu = ours.per_request_ms(ours.server_cpu) / row.per_request_ms(row.server_cpu) if row.server_cpu else 0
            rate = ours.result.rate / row.result.rate if row.result.rate else float("inf")
            lines.append(f"{mine} / {name}: server CPU per request ×{cpu:.2f}, req/s ×{rate:.2f}  ")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="short run for CI (< 60 s)")
    parser.add_argument("--seconds", type=float, default=4.0, help="per system, scenario, concurrency and round")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds (ours, dot, node, ours, ...)")
    parser.add_argument("--concurrency", default="1,8,32")
    parser.add_argument("--systems", default="ours,dot,node")
    parser.add_argument("--scenarios", default=",".join(ALL_SCENARIOS))
    parser.add_argument(
        "--database",
        choices=("postgres", "sqlite"),
        default=os.environ.get("BENCH_DATABASE", "postgres"),
        help="postgres: BENCH_POSTGRES and the BENCH_REDIS cache; sqlite: make run's (SQLite, local-memory cache)",
    )
    parser.add_argument(
        "--db-prefix",
        default=os.environ.get("BENCH_DB_PREFIX", "bench"),
        help="database names: <prefix>_oidc and <prefix>_dot (dropped and re-created); env BENCH_DB_PREFIX",
    )
    parser.add_argument(
        "--server",
        default="granian",
        help="the two Djangos' HTTP server: granian (make run's, granian_conf.py), gthread or sync (gunicorn "
        "workers, gunicorn.conf.py); several side by side: granian,gthread,sync",
    )
    parser.add_argument(
        "--workers", type=int, default=0, help="worker processes (default: one per CPU; sync: 2 × CPUs + 1)"
    )
    parser.add_argument("--threads", type=int, default=4, help="threads per worker (gthread; granian's blocking)")
    args = parser.parse_args()
    args.servers = args.server.split(",")
    if unknown := set(args.servers) - set(systems.SERVERS):
        parser.error(f"--server: unknown {', '.join(sorted(unknown))} (one or more of {', '.join(systems.SERVERS)})")
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
    figures: dict[str, dict[int, dict[str, Row]]] = {}
    races: dict[str, dict[str, Counter]] = {}
    failed = 0
    began = time.monotonic()
    try:
        starters = {"ours": (start_ours, OURS), "dot": (start_dot, DOT), "node": (start_node, NODE)}
        for kind in wanted:
            variants = [""] if kind == "node" else args.servers
            for server in variants:
                name = f"{kind} ({server})" if server and len(args.servers) > 1 else kind
                start, endpoints = starters[kind]
                system = start(name, server, args, log_dir)
                started.append(system)
                systems.wait_until_up(system.base_url + endpoints.discovery, system.process, system.log)
                targets[name] = prepare(kind, system, endpoints, max(levels))
        kinds = {name: t.kind for name, t in targets.items()}
        print(f"# oidc_flows benchmarks — {time.strftime('%Y-%m-%d %H:%M %Z')}, {machine()}")
        print(f"\ncommand: {' '.join(sys.argv)}; logs in {log_dir}  ")
        print(f"database: {database_kind(args)}  ")
        print(f"servers: {servers_line(args)}" + ("; node: one process" if "node" in kinds.values() else ""))
        for scenario in args.scenarios.split(","):
            runners = {name: t for name, t in targets.items() if scenario in t.steps}
            if scenario == "client_credentials" and not args.smoke:
                for name, target in list(runners.items()):
                    if target.kind == "dot":
                        runners[f"{name} (hashed secret)"] = hashed = dot_hashed(target)
                        kinds[f"{name} (hashed secret)"] = hashed.kind
            print(f"\n### {scenario}")
            for concurrency in levels:
                rows: dict[str, Row] = figures.setdefault(scenario, {}).setdefault(concurrency, {})
                for target in runners.values():
                    load.run(target.system.base_url, target.steps[scenario](), 1, min(0.3, args.seconds / 4))  # warm
                for _ in range(args.rounds):
                    for name, target in runners.items():
                        if name.endswith("(hashed secret)") and concurrency > 8:
                            continue  # half a second per request: c=32 would only queue
                        rows.setdefault(name, Row()).add(measure(target, scenario, concurrency, args.seconds))
                for name, row in rows.items():
                    if row.result.errors:
                        failed += row.result.errors
                        print(f"\nFAILED {name} {scenario} c={concurrency}: {row.result.first_error}", file=sys.stderr)
                print(table(scenario, concurrency, rows, kinds), flush=True)
        print("\n### 20-way races (one code, one refresh token, 20 clients at once)\n")
        for name, target in targets.items():
            if target.kind == "ours":
                races[name] = run_races(target)
                for what, outcomes in races[name].items():
                    print(f"- {name}, {what}: {', '.join(f'{n} {k}' for k, n in sorted(outcomes.items()))}")
                    failed += sum(n for k, n in outcomes.items() if k not in ("ok", "invalid_grant"))
        print("\n### CPU cost of one signature here (jwcrypto, in-process)\n")
        for what, ms in signature_costs(20 if args.smoke else 200).items():
            print(f"- {what}: {ms:.3f} ms")
        print("\n### Password hashing (CPU per hash)\n")
        for what, ms in password_hash_costs(3 if args.smoke else 20).items():
            print(f"- {what}: {ms:.1f} ms")
        print(targets_table(figures, races, kinds, args))
    finally:
        for system in started:
            system.stop()
    print(f"\n{time.monotonic() - began:.0f} s in total; {failed} failed requests")
    return 1 if failed else 0


def run_races(target: Target) -> dict[str, Counter]:
    """Issue 13: a code and a refresh token raced by 20 clients give one winner and 19 invalid_grant."""
    system, endpoints, info = target.system, target.endpoints, target.system.info
    client = load.Client(system.base_url)
    fresh = scenarios.code_flow(client, endpoints, info["web"], info["user"])["refresh_token"]
    client.close()
    return {
        "code": scenarios.race_code(system.base_url, endpoints, info["web"], info["user"]),
        "refresh token": scenarios.race_refresh(system.base_url, endpoints, info["web"], fresh),
    }


# -- issue 13's targets ------------------------------------------------------------------------------
#: (what, scenario, goal): server CPU per request at most ``goal`` ms, over every concurrency measured.
CPU_TARGETS = (
    ("client_credentials RS256 JWT: server CPU per token", "client_credentials", 1.5),
    ("introspection: server CPU per request", "introspection", 1.0),
    ("JWKS: server CPU per request", "jwks", 0.3),
    ("discovery: server CPU per request", "discovery", 0.3),
    ("userinfo: server CPU per request", "userinfo", 1.5),
    ("refresh: server CPU per request", "refresh", 4.0),
)
FLOWS_PER_CORE = 25


def combined(figures: dict[str, dict[int, dict[str, Row]]], scenario: str, name: str) -> Row | None:
    """A system's rows of one scenario, all concurrency levels added up (None if it did not run it)."""
    total = Row()
    for rows in figures.get(scenario, {}).values():
        if name in rows:
            total.add(rows[name])
    return total if total.result.steps else None


def verdict(ok: bool) -> str:
    return "**met**" if ok else "**missed**"


def targets_table(figures: dict, races: dict[str, dict[str, Counter]], kinds: dict[str, str], args) -> str:
    """Issue 13's targets, each with this run's figures and met or missed (never a timed test)."""
    ours = [name for name, kind in kinds.items() if kind == "ours"]
    node = "node" if "node" in kinds else None
    head = ["target", "goal", *ours] + (["node"] if node else [])
    lines = ["\n### Issue 13 targets (this run's figures; CPU over all concurrency levels)\n"]
    lines += ["| " + " | ".join(head) + " |", "|---|---|" + "---:|" * (len(head) - 2)]

    def cpu_ms(scenario: str, name: str) -> float | None:
        row = combined(figures, scenario, name)
        return row.per_request_ms(row.server_cpu) if row else None

    for what, scenario, goal in CPU_TARGETS:
        cells = []
        for name in ours:
            ms = cpu_ms(scenario, name)
            cells.append("not run" if ms is None else f"{ms:.2f} ms {verdict(ms <= goal)}")
        if node:
            ms = cpu_ms(scenario, node)
            cells.append("—" if ms is None else f"{ms:.2f} ms")
        lines.append(f"| {what} | ≤ {goal:g} ms | " + " | ".join(cells) + " |")

    # No target of its own: what ES256 (P-256) instead of RS256 saves, and where it leaves us against node.
    node_es = cpu_ms(ES256, node) if node else None
    cells = []
    for name in ours:
        ms = cpu_ms(ES256, name)
        ratio = f" (×{ms / node_es:.2f} node's)" if ms is not None and node_es else ""
        cells.append("not run" if ms is None else f"{ms:.2f} ms{ratio}")
    if node:
        cells.append("—" if node_es is None else f"{node_es:.2f} ms")
    lines.append("| client_credentials ES256 JWT: server CPU per token | (no target) | " + " | ".join(cells) + " |")

    cells = []
    for name in ours:  # per core: the server's CPU and the database's (PostgreSQL here counts against the core)
        row = combined(figures, "auth_code_flow", name)
        if row is None:
            cells.append("not run")
            continue
        per_core = 1000 / row.per_request_ms(row.server_cpu + row.db_cpu)
        cells.append(f"{per_core:.1f} flows/s {verdict(per_core >= FLOWS_PER_CORE)}")
    lines.append(
        f"| full code + PKCE flow incl. the Argon2id sign-in, per core (server + db CPU) | ≥ {FLOWS_PER_CORE} "
        "| " + " | ".join(cells + (["—"] if node else [])) + " |"
    )

    at_32 = figures.get("client_credentials", {}).get(32, {})
    cells, node_row = [], at_32.get(node) if node else None
    for name in ours:
        row = at_32.get(name)
        errors = (combined(figures, "client_credentials", name) or Row()).result.errors
        if row is None or node_row is None:
            cells.append("not measured (needs node and c=32)")
        else:
            p99 = row.result.percentile(99)
            ok = p99 <= node_row.result.percentile(99) and errors == 0 and node_row.result.errors == 0
            cells.append(f"{p99:.1f} ms, {errors} errors {verdict(ok)}")
    if node:
        cells.append(f"{node_row.result.percentile(99):.1f} ms" if node_row else "—")
    lines.append("| client_credentials p99 at c=32, no errors | ≤ node's | " + " | ".join(cells) + " |")

    cells = []
    for name in ours:
        busy = sum(rows[name].result.unavailable for s in figures.values() for rows in s.values() if name in rows)
        busy += sum(o.get("HTTP 503", 0) for o in races.get(name, {}).values())
        note = verdict(busy == 0) if args.database == "sqlite" else "(a SQLite target: --database sqlite)"
        cells.append(f"{busy} × 503 {note}")
    lines.append(
        '| no 503 "database is locked" on SQLite as make run configures it | 0 | '
        + " | ".join(cells + (["—"] if node else []))
        + " |"
    )

    for what in ("code", "refresh token"):
        cells = []
        for name in ours:
            outcomes = races.get(name, {}).get(what)
            if outcomes is None:
                cells.append("not run")
                continue
            ok = outcomes == Counter({"ok": 1, "invalid_grant": 19})
            cells.append(", ".join(f"{n} {k}" for k, n in sorted(outcomes.items())) + f" {verdict(ok)}")
        lines.append(
            f"| 20-way race on a {what} ({database_kind(args).split(' ')[0]}) | 1 ok + 19 invalid_grant | "
            + " | ".join(cells + (["—"] if node else []))
            + " |"
        )
    return "\n".join(lines)


def database_kind(args) -> str:
    if args.database == "sqlite":
        return "SQLite (a file per system), local-memory cache: make run's configuration, DEBUG off"
    return f"PostgreSQL ({args.db_prefix}_oidc, {args.db_prefix}_dot), Redis cache for ours"


def servers_line(args) -> str:
    described = {
        "gthread": f"gunicorn gthread, {{w}} workers × {args.threads} threads",
        "sync": "gunicorn sync, {w} workers",
        "granian": f"granian (WSGI), {{w}} workers × {args.threads} blocking threads",
    }
    return "; ".join(described[server].format(w=workers(args, server)) for server in args.servers)


def dot_hashed(target: Target) -> Target:
    """DOT with its default client secret hashing (Django's PBKDF2 on every token request)."""
    hashed = Target(target.kind, target.system, target.endpoints)
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
