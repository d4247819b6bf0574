"""The table behind ``SQLStore``: the one it creates, or an existing one it maps onto.

Usage::

    spec = TableSpec("profiles", None, "key", "value", "updated_at", key_type=int)
    found = await conn.run_sync(resolve_table, spec, True, None)
    found.table, found.key_type, found.origin      # sqlalchemy.Table, int, "key_type=int"

``resolve_table`` runs once per store, inside one transaction: it creates the table when
it is missing (and creation is allowed), otherwise reflects it and checks that the key
column is unique and of the right type, that the value column holds text or JSON, and
that no other column would make an insert fail. The ``Table`` it returns declares only
the columns the store touches.

The key type: the declared ``key_type`` when there is one (an existing table must hold
it); otherwise the existing key column's (integer: int, text: str); otherwise, for a
table it creates (or an SQLite column declared without a type), the type of the first
key the store was asked about (``hint``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine.interfaces import ReflectedColumn
from sqlalchemy.schema import CreateTable
from sqlalchemy.types import NullType, TypeDecorator

from cachewright.errors import ConfigurationError

__all__ = ["JSONText", "ResolvedTable", "TableSpec", "resolve_table"]


class JSONText(TypeDecorator[str]):
    """JSON text written to and read from a PostgreSQL ``json``/``jsonb`` column as is.

    The store already holds JSON text from pydantic; the stock ``JSON`` type would
    encode it a second time. Binds become ``CAST(:v AS JSONB)``, reads ``CAST(c AS TEXT)``;
    batch upserts cast to ``target()`` themselves (their values come from a SELECT).
    """

    impl = sa.Text
    cache_ok = True

    def __init__(self, jsonb: bool) -> None:
        super().__init__()
        self.jsonb = jsonb

    def target(self) -> postgresql.JSON:
        """The column's own type, for casts from text."""
        return postgresql.JSONB() if self.jsonb else postgresql.JSON()

    def bind_expression(self, bindvalue: Any) -> Any:
        return sa.cast(bindvalue, self.target())

    def column_expression(self, colexpr: Any) -> Any:
        return sa.cast(colexpr, sa.Text())


@dataclass(frozen=True, slots=True)
class TableSpec:
    """Where a store keeps its rows and how they are laid out."""

    name: str
    schema: str | None
    key_column: str
    value_column: str
    updated_at_column: str | None
    key_type: type[int] | type[str] | None  # None: not declared

    @property
    def qualified_name(self) -> str:
        return self.name if self.schema is None else f"{self.schema}.{self.name}"


@dataclass(frozen=True, slots=True)
class ResolvedTable:
    """The table a store works on, its key type, and how that type was decided."""

    table: sa.Table
    key_type: type[int] | type[str]
    origin: str


def _hinted(spec: TableSpec, hint: type[int] | type[str] | None, what: str) -> tuple[type, str]:
    """The key type of a key column the store types itself: the first key's."""
    if hint is None:
        raise ConfigurationError(
            f"table {spec.qualified_name!r}: {what} needs a key type; "
            "pass key_type=int or key_type=str to SQLStore"
        )
    return hint, f"{what}, typed by the first key used; key_type= chooses"


def resolve_table(
    conn: sa.Connection, spec: TableSpec, create: bool, hint: type[int] | type[str] | None
) -> ResolvedTable:
    """Create or reflect the table of ``spec`` (sync; run it with ``run_sync``)."""
    inspector = sa.inspect(conn)
    if inspector.has_table(spec.name, schema=spec.schema):
        return _reflected_table(inspector, spec, conn.dialect.name, hint)
    if not create:
        raise ConfigurationError(
            f"table {spec.qualified_name!r} does not exist; create it or pass create=True"
        )
    if spec.key_type is not None:
        key_type, origin = spec.key_type, f"key_type={spec.key_type.__name__}"
    else:
        key_type, origin = _hinted(spec, hint, "a table the store creates")
    table = _new_table(spec, key_type)
    conn.execute(CreateTable(table, if_not_exists=True))
    return ResolvedTable(table, key_type, origin)


def _new_table(spec: TableSpec, key_type: type) -> sa.Table:
    # Text, not JSONB, for values: it round-trips every JSON string pydantic writes
    # (jsonb refuses \u0000 and reorders keys), and reads need no cast.
    key_sql_type: sa.types.TypeEngine[Any] = sa.BigInteger() if key_type is int else sa.Text()
    columns = [
        sa.Column(spec.key_column, key_sql_type, primary_key=True, autoincrement=False),
        sa.Column(spec.value_column, sa.Text(), nullable=False),
    ]
    if spec.updated_at_column is not None:
        columns.append(
            sa.Column(
                spec.updated_at_column,
                sa.DateTime(timezone=True),
                nullable=False,
                server_default=sa.func.current_timestamp(),
            )
        )
    return sa.Table(spec.name, sa.MetaData(), *columns, schema=spec.schema)


def _reflected_table(
    inspector: sa.Inspector, spec: TableSpec, dialect: str, hint: type[int] | type[str] | None
) -> ResolvedTable:
    where = f"table {spec.qualified_name!r}"
    found = {col["name"]: col for col in inspector.get_columns(spec.name, schema=spec.schema)}
    for wanted in (spec.key_column, spec.value_column):
        if wanted not in found:
            raise ConfigurationError(f"{where} has no column {wanted!r} (columns: {list(found)})")
    _check_unique_key(inspector, spec, where)
    key_sql, key_type, origin = _key_sql_type(found[spec.key_column], spec, where, hint)
    value_type = _value_sql_type(found[spec.value_column], dialect, where)
    stamp = spec.updated_at_column
    if stamp is not None and stamp not in found:
        stamp = None  # an existing table without the column is simply not stamped
    ours = {spec.key_column, spec.value_column} | ({stamp} if stamp else set())
    _check_other_columns(found, ours, where)

    columns = [
        sa.Column(spec.key_column, key_sql, primary_key=True, autoincrement=False),
        sa.Column(spec.value_column, value_type),
    ]
    if stamp is not None:
        columns.append(sa.Column(stamp, found[stamp]["type"]))
    table = sa.Table(spec.name, sa.MetaData(), *columns, schema=spec.schema)
    return ResolvedTable(table, key_type, origin)


def _check_unique_key(inspector: sa.Inspector, spec: TableSpec, where: str) -> None:
    """``ON CONFLICT (key)`` needs a primary key or unique constraint on exactly that column."""
    only_key: list[str | None] = [spec.key_column]
    pk = inspector.get_pk_constraint(spec.name, schema=spec.schema)
    candidates: list[list[str | None]] = [list(pk.get("constrained_columns") or [])]
    candidates += [
        list(u["column_names"])
        for u in inspector.get_unique_constraints(spec.name, schema=spec.schema)
    ]
    candidates += [  # expression indexes list None for their expressions
        list(i["column_names"])
        for i in inspector.get_indexes(spec.name, schema=spec.schema)
        if i.get("unique")
    ]
    if only_key not in candidates:
        raise ConfigurationError(
            f"{where}: column {spec.key_column!r} needs a primary key or unique constraint "
            "of its own, for upserts"
        )


def _key_sql_type(
    column: ReflectedColumn, spec: TableSpec, where: str, hint: type[int] | type[str] | None
) -> tuple[Any, type, str]:
    """The key column's SQL type, the key type it holds, and how that was decided."""
    sql_type = column["type"]
    if isinstance(sql_type, NullType):  # SQLite column declared without a type
        if spec.key_type is not None:
            key_type, origin = spec.key_type, f"key_type={spec.key_type.__name__}"
        else:
            key_type, origin = _hinted(spec, hint, "an untyped key column")
        return (sa.BigInteger() if key_type is int else sa.Text()), key_type, origin
    held: type[int] | type[str]
    if isinstance(sql_type, sa.Integer):
        held = int
    elif isinstance(sql_type, sa.String):
        held = str
    else:
        raise ConfigurationError(f"{where}: key column type {sql_type} is not supported")
    if spec.key_type is not None and spec.key_type is not held:
        raise ConfigurationError(
            f"{where}: key column {spec.key_column!r} is {sql_type}, which does not hold "
            f"{spec.key_type.__name__} keys; pass key_type={held.__name__} "
            "(or leave key_type out: the store then reads it from the table)"
        )
    return sql_type, held, f"its key column {spec.key_column!r} is {sql_type}"


def _value_sql_type(column: ReflectedColumn, dialect: str, where: str) -> Any:
    sql_type = column["type"]
    if isinstance(sql_type, sa.JSON) and dialect == "postgresql":
        return JSONText(jsonb=isinstance(sql_type, postgresql.JSONB))
    if isinstance(sql_type, sa.String | sa.JSON | NullType):
        return sa.Text()  # SQLite's JSON is text with a name
    raise ConfigurationError(
        f"{where}: value column {column['name']!r} is {sql_type}; use a text or JSON column"
    )


def _check_other_columns(found: dict[str, ReflectedColumn], ours: set[str], where: str) -> None:
    """Refuse a table an insert would fail on: NOT NULL columns without a default."""
    blocking = [
        name
        for name, col in found.items()
        if name not in ours
        and not col["nullable"]
        and col.get("default") is None
        and not col.get("autoincrement")
        and "identity" not in col
        and "computed" not in col
    ]
    if blocking:
        raise ConfigurationError(
            f"{where}: columns {blocking} are NOT NULL without a default; "
            "the store cannot insert rows"
        )
