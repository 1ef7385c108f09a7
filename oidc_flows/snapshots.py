"""Per-process snapshots of an authorization server's configuration: scopes, claims, access policies, keys.

Every token request needs the same rows (a dozen queries); a snapshot reads them once per process.
It is keyed by the server's primary key *and* its ``updated`` stamp, and every change to those rows
bumps ``updated`` in the same transaction (the signal handlers below), so:

- another node (or worker) sees a change on its very next request: it reads the server row on every
  request anyway (``servers.resolve``) and finds a stamp its snapshot does not have;
- a rolled-back change rolls the stamp back with it, and a re-created server has a new stamp (tests
  flush the database and re-create servers with the same ids);
- this process drops its snapshot at once when it makes the change itself.

Changes that bypass model signals (``QuerySet.update``, raw SQL) are picked up within ``MAX_AGE``
seconds. No shared cache is needed for any of this: the database row is the version stamp.
"""

from __future__ import annotations

import copy
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.signals import setting_changed
from django.db import connections
from django.db.models import Model, Prefetch
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete
from django.utils import timezone

from .models import AccessPolicy, AuthorizationServer, Claim, PolicyRule, Scope, SigningKey
from .models.keys import KeyStatus
from .settings import flows_settings


#: Upper bound, in seconds, on how long a change that skipped the model signals can go unseen.
MAX_AGE = 60

_lock = threading.Lock()
_snapshots: dict[int, Snapshot] = {}


class RowCache:
    """Rows of one model by *stamp*: a tuple starting with the pk, read from the database on every request.

    The stamp holds the columns that change with every write (``updated``, auto_now) or that a
    ``QuerySet.update`` may change behind the signals' back (``is_active``): a new stamp is a miss.
    """

    def __init__(self) -> None:
        self._rows: dict[tuple, tuple[float, Any]] = {}

    def get(self, stamp: tuple) -> Any:
        found = self._rows.get(stamp)
        if found is None or time.monotonic() - found[0] >= MAX_AGE:
            return None
        return copy.copy(found[1])  # callers may set attributes on it; the cached row stays as read

    def put(self, stamp: tuple, row: Any) -> None:
        with _lock:
            if len(self._rows) >= 1024:
                self._rows.clear()  # mostly stale stamps; the live rows are read again at once
            self._rows[stamp] = (time.monotonic(), copy.copy(row))

    def forget(self, pk: Any = None) -> None:
        with _lock:
            for stamp in [s for s in self._rows if pk is None or s[0] == pk]:
                del self._rows[stamp]


#: AuthorizationServer rows by (pk, updated) (servers.resolve), Application rows by (pk, updated, is_active).
servers = RowCache()
applications = RowCache()
_STAMP_SQL: dict[tuple, str] = {}


def read_stamp(model: type[Model], columns: tuple[str, ...], where: tuple[str, ...], params: list) -> tuple | None:
    """``columns`` of the one row of ``model`` matching ``where`` (field = %s, ...), with SQL compiled once.

    The ORM compiles a query anew on every call, which costs more CPU than the query itself.
    """
    conn = connections[model.objects.db]
    key = (model._meta.label, conn.vendor, columns, where)
    sql = _STAMP_SQL.get(key)
    if sql is None:
        qn, meta = conn.ops.quote_name, model._meta
        select = ", ".join(qn(meta.get_field(name).column) for name in columns)
        condition = " AND ".join(f"{qn(meta.get_field(name).column)} = %s" for name in where)
        sql = _STAMP_SQL[key] = f"SELECT {select} FROM {qn(meta.db_table)} WHERE {condition}"
    with conn.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return tuple(row) if row else None


_ROW_SQL: dict[tuple, tuple[str, list, list]] = {}


def read_row(model: type[Model], where: tuple[str, ...], params: list, *, order: str = "") -> Model | None:
    """The first row of ``model`` matching ``where`` (field = %s, ...), as the ORM would load it, with SQL
    compiled once; ``order`` is an ORDER BY clause (trusted SQL, part of the cache key)."""
    conn = connections[model.objects.db]
    key = (model._meta.label, conn.vendor, where, order)
    found = _ROW_SQL.get(key)
    if found is None:
        qn, meta = conn.ops.quote_name, model._meta
        fields = list(meta.concrete_fields)
        condition = " AND ".join(f"{qn(meta.get_field(name).column)} = %s" for name in where)
        sql = f"SELECT {', '.join(qn(f.column) for f in fields)} FROM {qn(meta.db_table)} WHERE {condition}"
        sql += f" ORDER BY {order}" if order else ""
        found = _ROW_SQL[key] = (sql, fields, column_converters(conn, fields))
    sql, fields, converters = found
    with conn.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    return model.from_db(conn.alias, [f.attname for f in fields], convert(conn, row, converters))


def column_converters(conn: Any, fields: list) -> list:
    """How the ORM converts each field's column value (SQLite's text datetimes, UUIDs, JSON...)."""
    found = []
    for model_field in fields:
        column = model_field.get_col(model_field.model._meta.db_table)
        found.append((conn.ops.get_db_converters(column) + column.get_db_converters(conn), column))
    return found


def convert(conn: Any, row: tuple, converters: list) -> list:
    """A raw row's values as the ORM would hand them to ``Model.from_db``."""
    values = []
    for value, (functions, column) in zip(row, converters, strict=True):
        if value is not None:
            for function in functions:
                value = function(value, column, conn)
        values.append(value)
    return values


@dataclass
class Snapshot:
    """Read-only rows of one server, as of ``stamp``; never mutate what it holds."""

    stamp: tuple[Any, ...]  # (pk, updated) as read; the type of `updated` depends on the database driver
    built: float
    scopes: dict[str, Scope]
    claims: list[Claim]
    policies: list[AccessPolicy]
    policy_clients: dict[int, frozenset[int]]
    keys: list[SigningKey]
    derived: dict[str, Any] = field(default_factory=dict)  # documents built from the above (discovery...)

    @property
    def active_key(self) -> SigningKey | None:
        return next((k for k in self.keys if k.status == KeyStatus.ACTIVE), None)

    def published_keys(self, now: datetime | None = None) -> list[SigningKey]:
        """Next, active, and retired keys inside their grace period (ordered as keys.published says)."""
        cutoff = (now or timezone.now()) - timedelta(seconds=flows_settings().RETIRED_KEY_PUBLISH_SECONDS)
        keys = [k for k in self.keys if not (k.status == KeyStatus.RETIRED and k.retired_at and k.retired_at <= cutoff)]
        order = {KeyStatus.ACTIVE: 0, KeyStatus.NEXT: 1, KeyStatus.RETIRED: 2}
        return sorted(keys, key=lambda k: (order[k.status], -k.created.timestamp()))

    def memo(self, name: str, build: Any) -> Any:
        """A value derived from this snapshot (and the settings), built once."""
        key = (name, flows_settings())
        if key not in self.derived:
            self.derived[key] = build()
        return self.derived[key]


def of(server: AuthorizationServer) -> Snapshot:
    """The snapshot of ``server`` as of its ``updated`` stamp; built from the database when missing."""
    stamp = getattr(server, "_snapshot_stamp", None) or (server.pk, server.updated)
    found = _snapshots.get(server.pk)
    if found is not None and found.stamp == stamp and time.monotonic() - found.built < MAX_AGE:
        return found
    snapshot = _build(server, stamp)
    with _lock:
        _snapshots[server.pk] = snapshot
    return snapshot


def current(server_pk: int) -> Snapshot | None:
    """This process's latest snapshot of a server, whatever its stamp (for display text such as scope descriptions)."""
    found = _snapshots.get(server_pk)
    return found if found is not None and time.monotonic() - found.built < MAX_AGE else None


def _build(server: AuthorizationServer, stamp: tuple[Any, ...]) -> Snapshot:
    built = time.monotonic()  # before reading: a change made while reading is re-read at MAX_AGE at worst
    rules = PolicyRule.objects.filter(is_active=True).prefetch_related("users", "groups").order_by("priority", "id")
    policies = list(
        AccessPolicy.objects.filter(server=server, is_active=True)
        .order_by("priority", "id")
        .prefetch_related(Prefetch("rules", queryset=rules))
    )
    assigned: dict[int, set[int]] = {p.pk: set() for p in policies}
    listed = [p.pk for p in policies if not p.all_clients]
    through = AccessPolicy.clients.through.objects.filter(accesspolicy__in=listed)
    for policy_id, client_id in through.values_list("accesspolicy_id", "application_id"):
        assigned[policy_id].add(client_id)
    return Snapshot(
        stamp=stamp,
        built=built,
        scopes={s.name: s for s in Scope.objects.filter(server=server)},
        claims=list(Claim.objects.filter(server=server, is_active=True)),
        policies=policies,
        policy_clients={pk: frozenset(ids) for pk, ids in assigned.items()},
        keys=list(SigningKey.objects.filter(server=server)),
    )


def forget(server_pk: int | None = None) -> None:
    """Drop this process's snapshot of one server (or of all)."""
    with _lock:
        if server_pk is None:
            _snapshots.clear()
        else:
            _snapshots.pop(server_pk, None)
    servers.forget(server_pk)


def changed(*server_pks: int) -> None:
    """Record that these servers' configuration changed: bump their stamp (other processes) and forget (this one)."""
    pks = [pk for pk in server_pks if pk is not None]
    if not pks:
        return
    AuthorizationServer.objects.filter(pk__in=pks).update(updated=timezone.now())
    for pk in pks:
        forget(pk)


# -- signal handlers: every change to a snapshot's rows ------------------------------------------------
def _server_saved(sender, instance: AuthorizationServer, **kwargs: Any) -> None:
    forget(instance.pk)  # its own save set `updated` (auto_now)


def _server_deleted(sender, instance: AuthorizationServer, **kwargs: Any) -> None:
    forget(instance.pk)


def _row_changed(sender, instance: Any, **kwargs: Any) -> None:
    changed(instance.server_id)


def _rule_changed(sender, instance: PolicyRule, **kwargs: Any) -> None:
    server_id = AccessPolicy.objects.filter(pk=instance.policy_id).values_list("server_id", flat=True).first()
    changed(server_id)


def _policy_clients_changed(sender, instance: Any, action: str, reverse: bool, pk_set, **kwargs: Any) -> None:
    if not action.startswith("post_"):
        return
    if reverse:  # application.access_policies.add(...): the policies in pk_set (or all of the application's)
        policies = AccessPolicy.objects.filter(pk__in=pk_set) if pk_set else AccessPolicy.objects.all()
        changed(*set(policies.values_list("server_id", flat=True)))
    else:
        changed(instance.server_id)


def _rule_members_changed(sender, instance: Any, action: str, reverse: bool, pk_set, **kwargs: Any) -> None:
    if not action.startswith("post_"):
        return
    if reverse:  # user.<rules>.add(...) has no accessor (related_name="+"), but be safe
        changed(*set(AuthorizationServer.objects.values_list("pk", flat=True)))
    else:
        _rule_changed(sender, instance)


# A user, group or application named by a policy or rule: the m2m rows go by cascade, without m2m signals.
def _user_deleted(sender, instance: Any, **kwargs: Any) -> None:
    changed(*set(PolicyRule.objects.filter(users=instance).values_list("policy__server_id", flat=True)))


def _group_deleted(sender, instance: Group, **kwargs: Any) -> None:
    changed(*set(PolicyRule.objects.filter(groups=instance).values_list("policy__server_id", flat=True)))


def _application_deleted(sender, instance: Any, **kwargs: Any) -> None:
    changed(*set(AccessPolicy.objects.filter(clients=instance).values_list("server_id", flat=True)))


def _settings_changed(**kwargs: Any) -> None:
    forget()  # BASE_URL, RETIRED_KEY_PUBLISH_SECONDS... (tests override settings)
    applications.forget()


def _application_saved(sender, instance: Any, **kwargs: Any) -> None:
    applications.forget(instance.pk)


post_save.connect(_server_saved, sender=AuthorizationServer, dispatch_uid="oidc_flows.snapshots.server")
post_delete.connect(_server_deleted, sender=AuthorizationServer, dispatch_uid="oidc_flows.snapshots.server-del")
for _model in (Scope, Claim, AccessPolicy, SigningKey):
    post_save.connect(_row_changed, sender=_model, dispatch_uid=f"oidc_flows.snapshots.{_model.__name__}")
    post_delete.connect(_row_changed, sender=_model, dispatch_uid=f"oidc_flows.snapshots.{_model.__name__}-del")
post_save.connect(_rule_changed, sender=PolicyRule, dispatch_uid="oidc_flows.snapshots.rule")
post_delete.connect(_rule_changed, sender=PolicyRule, dispatch_uid="oidc_flows.snapshots.rule-del")
m2m_changed.connect(_policy_clients_changed, sender=AccessPolicy.clients.through, dispatch_uid="oidc_flows.snap.pc")
m2m_changed.connect(_rule_members_changed, sender=PolicyRule.users.through, dispatch_uid="oidc_flows.snap.ru")
m2m_changed.connect(_rule_members_changed, sender=PolicyRule.groups.through, dispatch_uid="oidc_flows.snap.rg")
pre_delete.connect(_group_deleted, sender=Group, dispatch_uid="oidc_flows.snapshots.group-del")
pre_delete.connect(_user_deleted, sender=settings.AUTH_USER_MODEL, dispatch_uid="oidc_flows.snapshots.user-del")
pre_delete.connect(
    _application_deleted, sender=settings.OAUTH2_PROVIDER_APPLICATION_MODEL, dispatch_uid="oidc_flows.snapshots.app-del"
)
setting_changed.connect(_settings_changed, dispatch_uid="oidc_flows.snapshots.settings")
_APPLICATION = settings.OAUTH2_PROVIDER_APPLICATION_MODEL
post_save.connect(_application_saved, sender=_APPLICATION, dispatch_uid="oidc_flows.snapshots.app-saved")
post_delete.connect(_application_saved, sender=_APPLICATION, dispatch_uid="oidc_flows.snapshots.app-deleted")
