"""The console's Jinja environment: autoescaping always on, filters, the renderer hook."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import structlog
from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateNotFound,
)
from markupsafe import Markup

from taskrun_center.log_throttle import LogThrottle
from taskrun_center.storage.rows import AnyRun
from taskrun_center.web.console import formatting
from taskrun_center.web.console.renderers import (
    RendererRegistry,
    RunRenderer,
    default_renderers,
)
from taskrun_center.web.console.summary_view import SummaryView
from taskrun_center.web.task_catalog import registered_metric_labels

logger = structlog.get_logger(__name__)

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates"


class _RegistryLoader(BaseLoader):
    """Look templates up in the folders users added to the renderer registry, at load time."""

    def __init__(self, registry: RendererRegistry) -> None:
        self.registry = registry

    def get_source(self, environment: Environment, template: str) -> tuple[str, str, Any]:
        for folder in self.registry.template_dirs:
            try:
                return FileSystemLoader(folder).get_source(environment, template)
            except TemplateNotFound:
                continue
        raise TemplateNotFound(template)


def pretty_json(value: Any) -> str:
    """Format a JSON value for a ``<pre>`` block (escaped by the template like any text)."""
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True, default=str)


def is_web_url(value: Any) -> bool:
    """Tell whether a URL is http or https, the only schemes the console turns into links.

    A stored ``result_url`` such as ``javascript:…`` would otherwise run script when clicked.
    """
    return isinstance(value, str) and urlsplit(value.strip()).scheme.lower() in ("http", "https")


def is_scalar(value: Any) -> bool:
    """Tell whether a value prints on one line (not a dict or a list)."""
    return not isinstance(value, dict | list)


def build_environment(registry: RendererRegistry = default_renderers) -> Environment:
    """Create the template environment; every template is autoescaped, whatever its name."""
    environment = Environment(
        loader=ChoiceLoader([_RegistryLoader(registry), FileSystemLoader(TEMPLATE_DIR)]),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(
        number=formatting.format_number,
        duration=formatting.format_duration,
        time=formatting.format_time,
        time_element=formatting.time_element,
        status_label=formatting.status_label,
        item_status_label=formatting.item_status_label,
        trigger_label=formatting.trigger_label,
        t=formatting.translate,
        pretty_json=pretty_json,
    )
    environment.tests["scalar"] = is_scalar
    environment.tests["web_url"] = is_web_url
    environment.globals["progress_percent"] = formatting.progress_percent
    environment.globals["registry"] = registry

    def render_overview(run: AnyRun, language: str) -> Markup:
        return _render_part(environment, registry, run, language, "overview")

    def render_detail(run: AnyRun, language: str) -> Markup:
        return _render_part(environment, registry, run, language, "detail")

    environment.globals["render_overview"] = render_overview
    environment.globals["render_detail"] = render_detail
    return environment


def _render_part(
    environment: Environment,
    registry: RendererRegistry,
    run: AnyRun,
    language: str,
    part: str,
) -> Markup:
    """Render the run's overview or detail part with its renderer, or the generic one.

    A renderer registered for a task type may fail on a summary it did not expect (a running
    run's ``ext.data`` is often ``{}``). One failing cell would otherwise turn the whole list
    into an error page, so the generic renderer draws that part instead, under a note.
    """
    view = SummaryView(run.summary_json, registered_metric_labels(run.task_key, language))
    renderer: RunRenderer | None = None
    try:
        # A matcher registered with the renderers is user code too, and may raise.
        renderer = registry.for_view(view)
        return _render_with(environment, renderer, view, run, language=language, part=part)
    except Exception as error:
        if renderer is registry.generic:
            raise
        name = type(renderer).__name__ if renderer is not None else "matcher"
        held_back = _renderer_failures.due((name, part))
        if held_back is not None:
            # The message may quote a summary value; the summary is masked when stored.
            logger.warning("renderer_failed", renderer=name, part=part,
                           run_id=run.run_id, error_type=type(error).__name__,
                           error=str(error)[:200], held_back=held_back)
    fallback = _render_with(environment, registry.generic, view, run, language=language,
                            part=part)
    note = environment.get_template("_renderer_fallback.html").render(lang=language)
    return Markup(note) + fallback


def _render_with(environment: Environment, renderer: RunRenderer, view: SummaryView,
                 run: AnyRun, *, language: str, part: str) -> Markup:
    if part == "overview":
        name, extra = renderer.overview_template, renderer.overview_context(view, run, language)
    else:
        name, extra = renderer.detail_template, renderer.detail_context(view, run, language)
    html = environment.get_template(name).render(view=view, run=run, lang=language, **extra)
    # The template escaped every value from the summary; the result is safe markup.
    return Markup(html)


# A failing renderer fails on every page that shows its task type.
_renderer_failures = LogThrottle(interval_seconds=60)
