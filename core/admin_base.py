"""The base classes of every back-office page: django-unfold's styled admin with the project's
defaults. Every `*/admin.py` builds on these, so a concern that applies to all of them (row-level
scoping, an audit trail, a masked column) is added here once.

Lists never count a whole table: at a million members `SELECT count(*)` alone takes longer than the
page may. `EstimatedCountPaginator` answers from PostgreSQL's statistics instead (see its doc).
"""

import functools
import json

from django.core.paginator import Paginator
from django.db import connections
from django.db.models import QuerySet
from django.utils.functional import cached_property
from unfold.admin import ModelAdmin as UnfoldModelAdmin
from unfold.admin import StackedInline as UnfoldStackedInline
from unfold.admin import TabularInline as UnfoldTabularInline


def table_row_estimate(model) -> int | None:
    """The planner's row count of a model's table (kept by autovacuum's ANALYZE), or None for a
    table never analysed, or for a model with no table of its own (a view or a query, such as the
    audit trail's events). One catalog lookup, whatever the table's size."""
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)", [model._meta.db_table])
        row = cursor.fetchone()
    return row[0] if row and row[0] >= 0 else None


def query_row_estimate(queryset: QuerySet) -> int:
    """The planner's estimate of how many rows a filtered query returns (EXPLAIN, nothing run)."""
    sql, params = queryset.order_by().query.sql_with_params()
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


class EstimatedCountPaginator(Paginator):
    """Counts exactly up to EXACT_UP_TO rows (a LIMITed count reads no more than that), and
    beyond that uses PostgreSQL's estimate: the table's statistics for an unfiltered list, the
    planner's for a filtered one. Page links past the real end show an empty page, which is the
    price of never scanning a million rows to print "1,000,000 members"."""

    EXACT_UP_TO = 10_000

    @cached_property
    def count(self):
        queryset = self.object_list
        if not isinstance(queryset, QuerySet):
            return super().count
        if not queryset.query.where:
            estimate = table_row_estimate(queryset.model)
            if estimate is not None and estimate > self.EXACT_UP_TO:
                return estimate
        capped = queryset.order_by()[: self.EXACT_UP_TO + 1].count()
        if capped <= self.EXACT_UP_TO:
            return capped
        return max(query_row_estimate(queryset), capped)


def computed_once(method):
    """A read-only field's value computed once per object and request: unfold's templates read a
    read-only field several times (label, tab, value), and each read would query again."""

    @functools.wraps(method)
    def once(model_admin, obj):
        cache = obj.__dict__.setdefault("_admin_computed", {})
        if method.__name__ not in cache:
            cache[method.__name__] = method(model_admin, obj)
        return cache[method.__name__]

    return once


class ModelAdmin(UnfoldModelAdmin):
    """The project's admin page: unfold's look, lists that never count the whole table, filters
    applied with one button (each click on a large list is a query)."""

    paginator = EstimatedCountPaginator
    show_full_result_count = False
    list_per_page = 50
    list_filter_submit = True
    warn_unsaved_form = True


class TabularInline(UnfoldTabularInline):
    pass


class StackedInline(UnfoldStackedInline):
    pass
