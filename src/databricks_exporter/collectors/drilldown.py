"""What the drill-downs share: entity labels added to a domain's specs, the fold's wording,
and name labels resolved from the names directory when a collector builds its families.

A drill-down keeps, per workspace, the `--drilldown.top-k` most active entities of the window
under their own id and folds the others into one series whose id and name are `other`. The
fold is done in SQL, so the folded series are sums (or quantiles recomputed over all the
folded rows), and the statement also returns how many entities each workspace folded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from databricks_exporter.collectors.base import Derivations, Derive, MetricSpec
from databricks_exporter.collectors.names import KINDS, NameDirectory, Names
from databricks_exporter.warehouse.result import Parameter


def fold_help(top_k: int, entity: str, activity: str) -> str:
    """The sentence a drilled-down metric's HELP ends with."""
    return (
        f"; per {entity}: the {top_k} {entity}s of each workspace with the most {activity}, "
        f'the others together as {entity}_id="other"'
    )


def drill(spec: MetricSpec, labels: tuple[str, ...], help_suffix: str) -> MetricSpec:
    """`spec` with `labels` right after workspace_id and the fold stated in its HELP."""
    first, rest = spec.labels[:1], spec.labels[1:]
    return replace(spec, labels=(*first, *labels, *rest), help=spec.help + help_suffix)


def by_entity(
    specs: tuple[MetricSpec, ...],
    kind: str,
    top_k: int,
    activity: str,
    extra: Mapping[str, tuple[str, ...]] | None = None,
) -> tuple[MetricSpec, ...]:
    """A domain's specs drilled down to `kind` entities: `<prefix>_id` and `<prefix>_name`
    right after workspace_id (then the metric's `extra` labels, if any), the fold in HELP.

    The labels come from the kind's prefix, as the name label's lookup (`entity_name`) does.
    """
    prefix = KINDS[kind].prefix
    suffix = fold_help(top_k, prefix, activity)
    labels = (f"{prefix}_id", f"{prefix}_name")
    more = extra or {}
    return tuple(drill(spec, labels + more.get(spec.name, ()), suffix) for spec in specs)


def name_of(names: Names, id_label: str) -> Derive:
    """Derive an entity's name label from its workspace_id and id labels."""

    def derive(labels: Mapping[str, str]) -> str:
        return names.resolve(labels["workspace_id"], labels[id_label])

    return derive


def entity_name(directory: NameDirectory | None, kind: str, reader: str) -> Derivations:
    """The name label of a `kind` entity (`job_name` from `job_id`, ...), looked up in the
    names read last each time `reader` builds a result."""
    names_of = directory or NameDirectory()
    prefix = KINDS[kind].prefix

    def derived() -> Mapping[str, Derive]:
        return {f"{prefix}_name": name_of(names_of.names(kind, reader), f"{prefix}_id")}

    return derived


def top_k_parameter(top_k: int) -> Parameter:
    """K as a BIGINT statement parameter."""
    return Parameter(top_k, "BIGINT")
