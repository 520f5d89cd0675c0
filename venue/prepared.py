"""Reads the ORM builds once per process and the database then answers as plain SQL.

A connecting socket makes a dozen small reads (who it is, its own hand, votes, seat). Building
each through the ORM costs about ten times what SQLite needs to answer it, and in a join storm
all of that runs on the process's one database thread (docs/benchmarks.md, the join storm).
A `Prepared` read is written as an ordinary queryset with named arguments; the queryset is
compiled once per database connection, with markers where the arguments go, and each later call
only binds the arguments and runs the SQL. What comes back is converted exactly as the ORM
would convert it.

Only for hot reads whose shape never changes: the arguments must be bound parameters (filter
values), not something that changes the SQL (a list of varying length, a field name).
"""

from collections import defaultdict

from django.db import NotSupportedError, connections
from django.db.models import CharField, IntegerField, Value

# Marker values for the arguments while compiling: integers no id, count or rank ever takes,
# strings no token or code ever is.
_MARK_BASE = -7_340_000_000


def _mark(index, kind):
    if kind is int:
        return _MARK_BASE - index
    if kind is str:
        return f"\x1fplenum-prepared-argument-{index}\x1f"
    raise TypeError(f"a prepared argument is an int or a str, not {kind!r}")


class Prepared:
    """`Prepared(lambda person: Hand.objects.filter(person_id=person).values_list("pk"), person=int)`,
    then `read.rows(person=42)`: the rows, as `values_list` would give them. Each argument is
    declared with its type (int or str)."""

    def __init__(self, build, using="default", **arguments):
        self.build = build
        self.arguments = arguments
        self.using = using
        self._compiled = {}  # connection (its id: one per thread) -> (sql, params, converters, klass_info)

    def _compile(self, connection):
        marks = {name: _mark(index, kind) for index, (name, kind) in enumerate(self.arguments.items())}
        queryset = self.build(**marks)
        compiler = queryset.query.get_compiler(using=self.using)
        sql, params = compiler.as_sql()
        by_mark = {(type(mark), mark): name for name, mark in marks.items()}
        bound = tuple(by_mark.get((type(param), param)) or _Constant(param) for param in params)
        missing = set(self.arguments) - {param for param in bound if isinstance(param, str)}
        if missing:
            raise ValueError(f"arguments {sorted(missing)} do not appear in the SQL of {queryset.query}")
        converters = compiler.get_converters([column[0] for column in compiler.select])
        plan = _plan(compiler.klass_info, compiler.select) if compiler.klass_info else None
        compiled = (sql, bound, converters, plan)
        self._compiled[id(connection)] = compiled
        return compiled

    def _compiled_for(self, connection):
        return self._compiled.get(id(connection)) or self._compile(connection)

    def _run(self, arguments):
        connection = connections[self.using]
        sql, bound, converters, plan = self._compiled_for(connection)
        params = [arguments[param] if isinstance(param, str) else param.value for param in bound]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        if converters:
            rows = [self._convert(row, converters, connection) for row in rows]
        return rows, plan, connection

    @staticmethod
    def _convert(row, converters, connection):
        row = list(row)
        for position, (functions, expression) in converters.items():
            value = row[position]
            for function in functions:
                value = function(value, expression, connection)
            row[position] = value
        return row

    def rows(self, **arguments):
        rows, _plan, _connection = self._run(arguments)
        return [tuple(row) for row in rows]

    def column(self, **arguments):
        """The first column of every row (`values_list(…, flat=True)`)."""
        return [row[0] for row in self.rows(**arguments)]

    def first(self, **arguments):
        """The first row's first column, or None."""
        found = self.column(**arguments)
        return found[0] if found else None

    def rows_for_each(self, over, values, **arguments):
        """`rows(**{over: value}, **arguments)` for each of `values`, in order: on PostgreSQL in
        one query (the read joined laterally to an array of the values, one statement whatever
        their number), elsewhere one query each. For a crowd's own rows (a join storm's)."""
        connection = connections[self.using]
        sql, bound, converters, _plan = self._compiled_for(connection)
        pieces = sql.split("%s")
        # Elsewhere, alone, or with a literal percent sign (which would make the placeholders
        # ambiguous): one query each.
        if connection.vendor != "postgresql" or len(values) < 2 or "%%" in sql or len(pieces) != len(bound) + 1:
            return [self.rows(**{over: value}, **arguments) for value in values]
        lateral, params = [pieces[0]], []
        for param, piece in zip(bound, pieces[1:]):
            if param == over:
                lateral.append('"plenum_each"."value"')
            else:
                lateral.append("%s")
                params.append(arguments[param] if isinstance(param, str) else param.value)
            lateral.append(piece)
        array = "bigint[]" if self.arguments[over] is int else "text[]"
        each_sql = (
            f'SELECT "plenum_each"."value", "plenum_part".* FROM unnest(CAST(%s AS {array})) AS "plenum_each" ("value") '
            f'CROSS JOIN LATERAL ({"".join(lateral)}) AS "plenum_part"'
        )
        by_value = {value: [] for value in values}
        with connection.cursor() as cursor:
            cursor.execute(each_sql, [list(by_value), *params])
            found = cursor.fetchall()
        for value, *row in found:
            if converters:
                row = self._convert(row, converters, connection)
            by_value[value].append(tuple(row))
        return [by_value[value] for value in values]

    def objects(self, **arguments):
        """Model instances, with the relations the queryset `select_related` filled in."""
        rows, plan, connection = self._run(arguments)
        return [_instance(plan, row, connection.alias) for row in rows]


def tagged(queryset, label, column, rank=None):
    """One part of a `Tagged` read: `queryset`'s `column` under `label` (and a `rank` column to
    order by, for the parts that need an order)."""
    return queryset.order_by().values_list(
        Value(label, output_field=CharField()), column,
        rank if rank is not None else Value(0, output_field=IntegerField()),
    )


class Tagged(Prepared):
    """Several small reads of one person's own rows as one query (a UNION ALL of `tagged`
    parts): `read.values(person=42)` gives {label: [values in rank order]}, every label of the
    parts present, empty where nothing was found."""

    def __init__(self, parts, using="default", **arguments):
        def build(**marks):
            first, *rest = parts(**marks)
            return first.union(*rest, all=True)

        super().__init__(build, using=using, **arguments)

    def values(self, **arguments):
        return self._found(self.rows(**arguments))

    def values_for_each(self, over, values, **arguments):
        """`values` for each of `values` of the argument `over` (see `Prepared.rows_for_each`)."""
        return [self._found(rows) for rows in self.rows_for_each(over, values, **arguments)]

    @staticmethod
    def _found(rows):
        found = defaultdict(list)
        for label, value, rank in sorted(rows, key=lambda row: (row[0], row[2], row[1])):
            found[label].append(value)
        return found


class _Constant:
    """A parameter the queryset itself fixed (a kind, a state), bound as compiled."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


def _plan(klass_info, select):
    """How to build a model instance (and its select_related ones) from a row of this SQL."""
    fields = tuple(klass_info["select_fields"])
    attnames = [select[i][0].target.attname for i in fields]
    children = tuple(
        (_plan(related, select), related["local_setter"], related["remote_setter"])
        for related in klass_info.get("related_klass_infos", ())
    )
    return klass_info["model"], fields, attnames, children


def _instance(plan, row, alias):
    model, fields, attnames, children = plan
    instance = model.from_db(alias, attnames, [row[i] for i in fields])
    for child, local_setter, remote_setter in children:
        related = _instance(child, row, alias)
        local_setter(instance, related)
        remote_setter(related, instance)
    return instance


def insert_many(model, rows, key, where=None):
    """Write rows as `model.objects.create(**row)` would store each, in one statement, and
    return each row's primary key, in order, or None where it was not written. Without `save()`
    or its signals, so only for hot writes of models that have neither (a join storm writes a
    thousand connection rows). Fields not given take their defaults.

    `key`: a field whose value differs in every row (what was written is told apart by it).
    `where` = (sql, params): a row is written only if the condition holds for it when the
    statement runs (one statement instead of a read and a write); the condition sees the row's
    values as `candidate.<column>`. Rows of one statement do not see each other, hence one per key.
    """
    if not rows:
        return []
    connection = connections["default"]
    if not connection.features.can_return_columns_from_insert:
        raise NotSupportedError("insert_many needs INSERT … RETURNING (PostgreSQL, SQLite 3.35 or newer)")
    built = [_row(model, row, connection) for row in rows]
    fields = built[0][0]
    if any(row_fields != fields for row_fields, _params in built):
        raise TypeError("every row of insert_many sets the same fields")
    key_field = model._meta.get_field(key)
    at = fields.index(key_field)
    keys = [params[at] for _fields, params in built]
    if len(set(keys)) != len(keys):
        raise ValueError(f"insert_many needs a different {key} in every row")
    condition, condition_params = where if where is not None else ("1 = 1", ())
    sql = _insert_sql(connection, model, fields, len(built), condition, key_field)
    params = [param for _fields, row_params in built for param in row_params]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *condition_params])
        written = {row_key: pk for pk, row_key in cursor.fetchall()}
    return [written.get(row_key) for row_key in keys]


_inserts = {}  # (model, columns, vendor, rows, condition, key) -> SQL


def _row(model, values, connection):
    """The fields a row of `model` has and their values as the database takes them."""
    values = dict(values)
    fields, params = [], []
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        if field.attname in values:
            value = values.pop(field.attname)
        elif field.name in values:
            value = values.pop(field.name)
        else:
            value = field.get_default()
        fields.append(field)
        params.append(field.get_db_prep_save(value, connection))
    if values:
        raise TypeError(f"{model.__name__} has no fields {sorted(values)}")
    return fields, params


def _insert_sql(connection, model, fields, count, condition, key_field):
    cache_key = (model, tuple(field.column for field in fields), connection.vendor, count, condition, key_field.column)
    sql = _inserts.get(cache_key)
    if sql is not None:
        return sql
    quote = connection.ops.quote_name
    columns = [quote(field.column) for field in fields]
    if connection.vendor == "postgresql":
        # Values in a SELECT list get no type from their column as VALUES' do: PostgreSQL is told.
        values = [f"CAST(%s AS {field.cast_db_type(connection)})" for field in fields]
    else:
        values = ["%s"] * len(fields)
    row = "SELECT " + ", ".join(f"{value} AS {column}" for value, column in zip(values, columns))
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(columns)}) "
        f"SELECT {', '.join(f'candidate.{column}' for column in columns)} "
        f"FROM ({' UNION ALL '.join([row] * count)}) AS candidate WHERE {condition} "
        f"RETURNING {quote(model._meta.pk.column)}, {quote(key_field.column)}"
    )
    if len(_inserts) >= 256:
        _inserts.clear()
    _inserts[cache_key] = sql
    return sql
