"""Listing every page of a query twice: by following cursors and by page numbers."""

from __future__ import annotations

from taskrun_center.lifecycle.read_service import RunFilter, TaskRunsReadService


def both_pagings(service: TaskRunsReadService, run_filter: RunFilter, sort: str, order: str,
                 *, limit: int) -> tuple[list[int], list[int], bool]:
    """Return the run ids by cursor pages, by page numbers, and whether the total was exact."""
    page = service.list_runs(run_filter, sort=sort, order=order, limit=limit)
    by_cursor = [run.id for run in page.items]
    while page.next_cursor:
        page = service.list_runs(run_filter, sort=sort, order=order, limit=limit,
                                 cursor=page.next_cursor)
        by_cursor.extend(run.id for run in page.items)

    by_offset = []
    for number in range(1, page.page + 2):
        by_offset.extend(run.id for run in service.list_runs(
            run_filter, sort=sort, order=order, limit=limit, page=number).items)
    return by_cursor, by_offset, page.total_exact
