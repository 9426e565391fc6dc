"""The renderer registry: how the console shows a run's summary, chosen by ``ext.type``.

A renderer is a ``RunRenderer`` (or subclass) naming two Jinja templates, one for the run list's
overview cell and one for the ``ext.data`` panel of the detail page, and optionally adding
template variables. Every template gets ``view`` (a ``SummaryView``), ``run`` (the stored
columns as attributes: a ``RunRow`` in the list, a ``TaskRun`` on the detail page) and
``lang``; autoescaping is on, so text from a summary never becomes markup.

Register one for your task type (see the console docs)::

    from taskrun_center.web.console.renderers import RunRenderer, default_renderers

    class SyncAccountsRenderer(RunRenderer):
        overview_template = "sync_accounts_overview.html"

    default_renderers.add_template_dir("/path/to/my/templates")
    default_renderers.register("sync_accounts", SyncAccountsRenderer())

Lookup order: a renderer registered for the exact ``ext.type``, then the first matcher whose
predicate accepts the summary, then the generic renderer.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from taskrun_center.errors import TaskRunError
from taskrun_center.storage.rows import AnyRun
from taskrun_center.web.console.summary_view import SummaryView

GENERIC_OVERVIEW = "renderers/generic_overview.html"
GENERIC_DETAIL = "renderers/generic_detail.html"


class RendererExistsError(TaskRunError):
    """Raised when a task type already has a renderer and ``replace`` was not requested."""

    code = "RENDERER_EXISTS"

    def __init__(self, task_type: str) -> None:
        super().__init__(f"task type {task_type!r} already has a renderer; pass replace=True")
        self.task_type = task_type


class RunRenderer:
    """The generic renderer: metric chips, highlights, skipped badge, key/value ``ext.data``."""

    overview_template: str = GENERIC_OVERVIEW
    detail_template: str = GENERIC_DETAIL

    def overview_context(self, view: SummaryView, run: AnyRun, language: str) -> dict[str, Any]:
        """Return extra variables for the overview template (none by default)."""
        return {}

    def detail_context(self, view: SummaryView, run: AnyRun, language: str) -> dict[str, Any]:
        """Return extra variables for the detail template (none by default)."""
        return {}


SummaryPredicate = Callable[[SummaryView], bool]


class RendererRegistry:
    """Renderers by task type, plus predicate matchers and extra template folders."""

    def __init__(self) -> None:
        self._by_type: dict[str, RunRenderer] = {}
        self._matchers: list[tuple[SummaryPredicate, RunRenderer]] = []
        self._template_dirs: list[Path] = []
        self._lock = threading.Lock()
        self.generic = RunRenderer()

    def register(self, task_type: str, renderer: RunRenderer, *, replace: bool = False) -> None:
        """Use ``renderer`` for runs whose ``ext.type`` is ``task_type``.

        Raises:
            RendererExistsError: the type has a renderer and ``replace`` is False.
        """
        with self._lock:
            if task_type in self._by_type and not replace:
                raise RendererExistsError(task_type)
            self._by_type[task_type] = renderer

    def register_matcher(self, predicate: SummaryPredicate, renderer: RunRenderer) -> None:
        """Use ``renderer`` for summaries accepted by ``predicate`` when no type matches.

        This serves task types whose key varies, such as commands wrapped by ``taskrun exec``.
        """
        with self._lock:
            self._matchers.append((predicate, renderer))

    def add_template_dir(self, path: str | Path) -> None:
        """Add a folder searched for templates before the built-in ones."""
        with self._lock:
            self._template_dirs.append(Path(path))

    @property
    def template_dirs(self) -> list[Path]:
        return list(self._template_dirs)

    def for_view(self, view: SummaryView) -> RunRenderer:
        """Return the renderer for a summary (see the module docstring for the order)."""
        if view.ext_type and view.ext_type in self._by_type:
            return self._by_type[view.ext_type]
        for predicate, renderer in self._matchers:
            if predicate(view):
                return renderer
        return self.generic

    def registered_types(self) -> list[str]:
        """Return the task types with their own renderer, sorted."""
        return sorted(self._by_type)


default_renderers = RendererRegistry()


def register_renderer(task_type: str, renderer: RunRenderer, *, replace: bool = False) -> None:
    """Register ``renderer`` for ``task_type`` in the process-wide registry.

    Raises:
        RendererExistsError: the type has a renderer and ``replace`` is False.
    """
    default_renderers.register(task_type, renderer, replace=replace)
