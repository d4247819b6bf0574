"""The SQL that ``SQLStore`` sends: SQLAlchemy Core statements for one table, built once.

Usage::

    sql = Statements(table, "key", "value", "updated_at", dialect="postgresql")
    await conn.execute(*sql.upsert([(1, '{"name":"a"}'), (2, '{"name":"b"}')]))
    rows = (await conn.execute(*sql.select_many([1, 2]))).all()

Each method returns ``(statement, parameters)``. A batch is one statement whatever its
size, and the statement carries the whole batch in one or two parameters instead of
one parameter per row:

- PostgreSQL: ``INSERT ... SELECT k, v FROM unnest(:keys, :values) AS batch(k, v)
  ON CONFLICT (key) DO UPDATE ...``; reads and deletes use ``key = ANY(:keys)``.
- SQLite: ``INSERT ... SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]')
  FROM json_each(:rows) WHERE 1 ON CONFLICT (key) DO UPDATE ...``; reads and deletes use
  ``key IN (SELECT value FROM json_each(:keys))``.

Why not a multi-row ``VALUES (...), (...)``: SQLAlchemy compiles such a statement anew
for every batch (its cache key is per batch), which was ~70% of the time of a
10,000-row upsert, and one parameter per row runs into the drivers' limits (asyncpg:
32,767 parameters, SQLite: 32,766), which forces splitting. These statements compile
once per store and have no size limit short of memory.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from cachewright.stores._sql_schema import JSONText

__all__ = ["Statements"]

Prepared = tuple[sa.Executable, dict[str, Any]]


class Statements:
    """The statements of one store, compiled once by SQLAlchemy's cache."""

    __slots__ = (
        "_delete_many",
        "_delete_one",
        "_exists",
        "_postgres",
        "_select_many",
        "_select_one",
        "_upsert",
    )

    def __init__(  # dialect: "postgresql" or "sqlite" (SQLStore refuses others)
        self,
        table: sa.Table,
        key_column: str,
        value_column: str,
        updated_at_column: str | None,
        *,
        dialect: str,
    ) -> None:
        self._postgres = dialect == "postgresql"
        key: sa.Column[Any] = table.c[key_column]
        value: sa.Column[Any] = table.c[value_column]
        stamp = None
        if updated_at_column is not None and updated_at_column in table.c:
            stamp = table.c[updated_at_column]
        self._upsert = self._build_upsert(table, key, value, stamp)

        one: sa.BindParameter[Any] = sa.bindparam("key")
        in_batch = self._batch_contains(key)
        self._select_one = sa.select(value).where(key == one)
        self._exists = sa.select(key).where(key == one).limit(1)
        self._delete_one = sa.delete(table).where(key == one)
        self._select_many = sa.select(key, value).where(in_batch)
        self._delete_many = sa.delete(table).where(in_batch)

    def upsert(self, rows: Sequence[tuple[object, str]]) -> Prepared:
        """Insert or update ``(key, json_text)`` rows: one statement for all of them."""
        if self._postgres:
            return self._upsert, {
                "keys": [key for key, _ in rows],
                "values": [text for _, text in rows],
            }
        return self._upsert, {"rows": json.dumps(rows, ensure_ascii=False)}

    def select_one(self, key: object) -> Prepared:
        return self._select_one, {"key": key}

    def exists(self, key: object) -> Prepared:
        return self._exists, {"key": key}

    def delete_one(self, key: object) -> Prepared:
        return self._delete_one, {"key": key}

    def select_many(self, keys: Sequence[object]) -> Prepared:
        return self._select_many, self._keys_parameter(keys)

    def delete_many(self, keys: Sequence[object]) -> Prepared:
        return self._delete_many, self._keys_parameter(keys)

    def _keys_parameter(self, keys: Sequence[object]) -> dict[str, Any]:
        if self._postgres:
            return {"keys": list(keys)}
        return {"keys": json.dumps(list(keys), ensure_ascii=False)}

    def _batch_contains(self, key: sa.Column[Any]) -> sa.ColumnElement[bool]:
        """``key`` is one of the ``:keys`` parameter's."""
        if self._postgres:
            keys = sa.bindparam("keys", type_=postgresql.ARRAY(key.type))
            return key == sa.any_(keys)
        listed = sa.func.json_each(sa.bindparam("keys", type_=sa.Text())).table_valued("value")
        return key.in_(sa.select(listed.c.value))

    def _build_upsert(
        self,
        table: sa.Table,
        key: sa.Column[Any],
        value: sa.Column[Any],
        stamp: sa.Column[Any] | None,
    ) -> sa.Executable:
        new_key: sa.ColumnElement[Any]
        new_value: sa.ColumnElement[Any]
        if self._postgres:
            batch = (
                sa.func.unnest(
                    sa.bindparam("keys", type_=postgresql.ARRAY(key.type)),
                    sa.bindparam("values", type_=postgresql.ARRAY(sa.Text())),
                )
                .table_valued("k", "v")
                .render_derived(name="batch")
            )
            new_key, new_value = batch.c.k, batch.c.v
        else:
            rows = sa.func.json_each(sa.bindparam("rows", type_=sa.Text())).table_valued("value")
            new_key = sa.func.json_extract(rows.c.value, "$[0]")
            new_value = sa.func.json_extract(rows.c.value, "$[1]")
        if isinstance(value.type, JSONText):  # an existing json/jsonb column
            new_value = sa.cast(new_value, value.type.target())

        names = [key.name, value.name]
        source = [new_key, new_value]
        if stamp is not None:
            names.append(stamp.name)
            source.append(sa.func.current_timestamp())
        # SQLite needs a WHERE before ON CONFLICT, or it parses ON as a join constraint.
        select = sa.select(*source) if self._postgres else sa.select(*source).where(sa.true())

        updated = [value] if stamp is None else [value, stamp]
        if self._postgres:
            pg = postgresql.insert(table).from_select(names, select)
            return pg.on_conflict_do_update(
                index_elements=[key], set_={c.name: pg.excluded[c.name] for c in updated}
            )
        lite = sqlite.insert(table).from_select(names, select)
        return lite.on_conflict_do_update(
            index_elements=[key], set_={c.name: lite.excluded[c.name] for c in updated}
        )
