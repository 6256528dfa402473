"""Claims: statements about run records that the harness tests and gives a verdict on.

A claim file is TOML (``claims/*.toml``): a list of ``[[claim]]`` tables, each with

    id, source, paper_says        which claim, where it is made, its words
    paper_compared                what the paper compared
    harness_measures              what this harness measures instead (the verdict is
                                  about that matched comparison)
    reported                      published figures, printed beside the verdict labelled
                                  "reported" (never used in it)
    kind, method, against, ...    the test, one of the kinds below

and the verdict is ``holds``, ``does not hold`` or ``inconclusive`` with the numbers behind
it. Kinds (A = ``method``, B = each of ``against``; "better" follows the metric's
direction):

    parameter_ratio   count(B) / count(A) >= ``at_least`` for each B and each of
                      ``presets`` ("tiny": the records' parameters to serve the suite;
                      "paper": the same count of the method's paper preset, meta device)
    non_inferiority   on every (task, metric) of ``tasks`` x ``metrics``, A is worse
                      than B by less than ``margin`` x |mean(B)|: the lower end of the
                      90% interval of the paired difference (one-sided 5%, one of two
                      one-sided tests) lies above -margin. Holds when every comparison
                      does (an intersection-union test: no multiplicity correction is
                      needed); does not hold when some 90% interval lies wholly below
                      -margin; otherwise inconclusive
    superiority       on every (task, metric), A better than B: the paired difference's
                      Holm-corrected p < 0.05 over the claim's comparisons, in A's favour.
                      Does not hold when some comparison is significant the other way,
                      inconclusive when an interval straddles 0
    compute_to_quality  read off the quality-vs-compute curves (seed means): the training
                      FLOPs A needs to come within ``margin`` x |final(B)| of B's final
                      quality, against the FLOPs B trained with; holds when that ratio is
                      >= ``at_least`` for every (task, metric). The curve has checkpoints
                      at fractions f_1 < ... of the budget, so the ratio is known only
                      between two bounds (reached at f_j, not at f_{j-1}); a bound on the
                      wrong side of ``at_least`` decides, otherwise inconclusive

``requires_partially_paired = true`` makes a claim inconclusive on records whose training
data holds any triplet (the referee's setting: partially paired data only).
"""

from __future__ import annotations

import itertools
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import stats

from benchmark.core.errors import UserError
from benchmark.results.records import RunRecord
from benchmark.verdicts.comparisons import Column, compare_column, holm
from metrics import METRICS, spec_of

HOLDS, FAILS, INCONCLUSIVE = "holds", "does not hold", "inconclusive"
KINDS = ("parameter_ratio", "non_inferiority", "superiority", "compute_to_quality")
_TEXT_FIELDS = ("id", "source", "paper_says", "paper_compared", "harness_measures")
PRESET_COUNTS = {"tiny": "serve_suite", "paper": "paper_preset_serve_suite"}


@dataclass(frozen=True)
class Claim:
    """One ``[[claim]]`` of a claim file (module doc)."""

    id: str
    source: str
    paper_says: str
    paper_compared: str
    harness_measures: str
    kind: str
    method: str
    against: tuple[str, ...]
    reported: tuple[str, ...] = ()
    tasks: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()
    margin: float = 0.0
    at_least: float = 1.0
    presets: tuple[str, ...] = ("tiny",)
    requires_partially_paired: bool = False
    file: str = ""


@dataclass
class Verdict:
    """A claim's verdict with one line per number behind it."""

    claim: Claim
    verdict: str
    evidence: list[str] = field(default_factory=list)


def read_claims(path: Path) -> list[Claim]:
    """The claims of a ``.toml`` file, or of every ``.toml`` file in a folder (sorted);
    a malformed file or claim is a one-line UserError."""
    files = sorted(path.glob("*.toml")) if path.is_dir() else [path]
    if not path.exists() or not files:
        raise UserError(f"no claim files at {path}: give a .toml file or a folder of them "
                        "(docs/verdicts.md, 'Claims')")
    claims = []
    for file in files:
        try:
            tables = tomllib.loads(file.read_text(encoding="utf-8")).get("claim", [])
        except tomllib.TOMLDecodeError as error:
            raise UserError(f"{file}: not valid TOML ({error})") from None
        claims += [_claim(table, file) for table in tables]
    ids = [c.id for c in claims]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise UserError(f"claim id {', '.join(twice)} is used twice: give each claim its own id")
    return claims


def _claim(table: dict, file: Path) -> Claim:
    where = f"{file.name}, claim {table.get('id', '?')}"
    missing = [name for name in (*_TEXT_FIELDS, "kind", "method", "against")
               if name not in table]
    if missing:
        raise UserError(f"{where}: missing {', '.join(missing)}")
    if table["kind"] not in KINDS:
        raise UserError(f"{where}: kind '{table['kind']}' is not one of {', '.join(KINDS)}")
    known = {f for f in Claim.__dataclass_fields__ if f != "file"}
    unknown = sorted(set(table) - known)
    if unknown:
        raise UserError(f"{where}: unknown field {', '.join(unknown)}")
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in table.items()}
    if isinstance(values["against"], str):
        values["against"] = (values["against"],)
    claim = Claim(**values, file=file.name)
    _check_names(claim, where)
    return claim


def _check_names(claim: Claim, where: str) -> None:
    """Unknown tasks, metrics or presets: a one-line UserError with a suggestion (methods
    are checked against the records too, in :func:`evaluate`)."""
    from benchmark.core.tasks import parse_task

    for metric in claim.metrics:
        _known(METRICS, metric, "metric", where)
    for task in claim.tasks:
        try:
            parse_task(task)
        except UserError as error:
            raise UserError(f"{where}: {error}") from None
    bad = sorted(set(claim.presets) - set(PRESET_COUNTS))
    if bad:
        raise UserError(f"{where}: preset {', '.join(bad)} has no parameter count in records "
                        f"(use {', '.join(PRESET_COUNTS)})")
    if claim.kind in ("non_inferiority", "superiority", "compute_to_quality") and not (
            claim.tasks and claim.metrics):
        raise UserError(f"{where}: a {claim.kind} claim names its tasks and metrics")


def _known(registry, name: str, kind: str, where: str) -> None:
    try:
        registry.get(name)
    except UserError as error:
        raise UserError(f"{where}: {error}") from None


def evaluate(claim: Claim, results_dir: Path, records: Sequence[RunRecord]) -> Verdict:
    """The claim's verdict on ``records`` (one dataset and setting, from ``results_dir``);
    a method the records lack is a UserError (naming the nearest registered method when
    it is not one)."""
    from methods import METHODS

    present = {r.method for r in records}
    absent = sorted({claim.method, *claim.against} - present)
    for method in absent:  # a typo gets the registry's did-you-mean
        _known(METHODS, method, "method", f"{claim.file}, claim {claim.id}")
    if absent:
        raise UserError(f"claim {claim.id}: no runs of {', '.join(absent)} in {results_dir}: "
                        "run them there first")
    if claim.requires_partially_paired and any(_has_triplets(r) for r in records):
        return Verdict(claim, INCONCLUSIVE, ["the training data holds triplets; the claim "
                                             "is about partially paired data only"])
    test = {"parameter_ratio": _parameter_ratio, "non_inferiority": _non_inferiority,
            "superiority": _superiority, "compute_to_quality": _compute_to_quality}[claim.kind]
    return test(claim, results_dir, records)


def _has_triplets(record: RunRecord) -> bool:
    counts = record.config.get("dataset", {}).get("counts", {}).get("train", {})
    return counts.get("text+image+audio", 0) > 0


def _parameter_ratio(claim: Claim, results_dir: Path, records: Sequence[RunRecord]) -> Verdict:
    evidence, outcomes = [], []
    for preset, against in itertools.product(claim.presets, claim.against):
        count = {m: _parameter_count(records, m, PRESET_COUNTS[preset])
                 for m in (claim.method, against)}
        if None in count.values():
            evidence.append(f"{preset}: no {preset}-preset count for "
                            f"{claim.method if count[claim.method] is None else against}")
            outcomes.append(INCONCLUSIVE)
            continue
        ratio = count[against] / count[claim.method]
        outcomes.append(HOLDS if ratio >= claim.at_least else FAILS)
        evidence.append(f"{preset} preset: {against} {count[against]:,} / {claim.method} "
                        f"{count[claim.method]:,} = {ratio:.2f}x (claim: >= {claim.at_least:g}x)")
    return Verdict(claim, _all(outcomes), evidence)


def _parameter_count(records: Sequence[RunRecord], method: str, key: str) -> int | None:
    counts = {r.params.get(key) for r in records if r.method == method}
    counts.discard(None)
    return max(counts) if counts else None


def _columns(claim: Claim, results_dir: Path, records: Sequence[RunRecord]
             ) -> list[tuple[Column, str]]:
    """The claim's compared columns (strict), with the metric id each (task, metric) has:
    every method's column, as the report compares it, of which :func:`_pairs` reads the
    claim's pairs."""
    columns = []
    for task in claim.tasks:
        found = 0
        for metric in claim.metrics:
            ids = sorted({m for r in records if r.task == task for m in r.metrics
                          if m.split(".", 1)[1].startswith(f"{metric}[")})
            if ids:  # a metric of another target modality (fad on text2image) is passed over
                found += 1
                columns.append((compare_column(results_dir, records, task, ids[0], strict=True),
                                ids[0]))
        if not found:
            raise UserError(f"claim {claim.id}: no {' or '.join(claim.metrics)} values for "
                            f"{task} in these records")
    return columns


def _pairs(claim: Claim, column: Column):
    """(comparison, sign): sign * difference > 0 means the claim's method is better."""
    better = 1.0 if column.higher_is_better else -1.0
    for comparison in column.comparisons:
        if {comparison.method_a, comparison.method_b} <= {claim.method, *claim.against} and \
                claim.method in (comparison.method_a, comparison.method_b):
            sign = better if comparison.method_a == claim.method else -better
            yield comparison, sign


def _non_inferiority(claim: Claim, results_dir: Path, records: Sequence[RunRecord]) -> Verdict:
    evidence, outcomes = [], []
    for column, metric_id in _columns(claim, results_dir, records):
        for comparison, sign in _pairs(claim, column):
            other = comparison.method_b if comparison.method_a == claim.method else \
                comparison.method_a
            r = comparison.result
            margin = claim.margin * abs(column.means[other])
            t90 = float(stats.t.ppf(0.95, r.df))
            low, high = sign * r.difference - t90 * r.se, sign * r.difference + t90 * r.se
            outcomes.append(HOLDS if low > -margin else FAILS if high < -margin else
                            INCONCLUSIVE)
            evidence.append(
                f"{column.task} {metric_id}: {claim.method} {column.means[claim.method]:.4g} vs "
                f"{other} {column.means[other]:.4g}; advantage {sign * r.difference:+.4g}, 90% "
                f"interval [{low:+.4g}, {high:+.4g}], margin -{margin:.4g} "
                f"({claim.margin:g} x {other}) -> {outcomes[-1]}")
    return Verdict(claim, _all(outcomes), evidence)


def _superiority(claim: Claim, results_dir: Path, records: Sequence[RunRecord]) -> Verdict:
    compared = _columns(claim, results_dir, records)
    mine = [Column(c.task, c.metric_id, c.means, [p for p, _ in _pairs(claim, c)])
            for c, _ in compared]
    family = holm(mine)
    evidence, outcomes = [], []
    for column in mine:
        for comparison, sign in _pairs(claim, column):
            r = comparison.result
            advantage = sign * r.difference
            significant = comparison.p_adjusted < 0.05
            outcomes.append(HOLDS if significant and advantage > 0 else
                            FAILS if significant else INCONCLUSIVE)
            low, high = sorted((sign * r.ci_low, sign * r.ci_high))
            evidence.append(
                f"{column.task} {column.metric_id}: advantage of {claim.method} "
                f"{advantage:+.4g}, 95% interval [{low:+.4g}, {high:+.4g}], p {r.p_value:.2g}, "
                f"Holm p {comparison.p_adjusted:.2g} over {family} -> {outcomes[-1]}")
    return Verdict(claim, _all(outcomes), evidence)


def _compute_to_quality(claim: Claim, results_dir: Path, records: Sequence[RunRecord]
                        ) -> Verdict:
    evidence, outcomes = [], []
    for task, metric, against in itertools.product(claim.tasks, claim.metrics, claim.against):
        mine, theirs = (_mean_curve(records, m, task, metric) for m in (claim.method, against))
        if mine is None or theirs is None:
            raise UserError(f"claim {claim.id}: no {metric} curve for {task} of "
                            f"{claim.method if mine is None else against}")
        higher = spec_of(metric).higher_is_better
        final_flops, final_value = theirs[-1]
        target = final_value - (1 if higher else -1) * claim.margin * abs(final_value)
        reached = [i for i, (_, v) in enumerate(mine) if (v >= target if higher else v <= target)]
        if not reached:
            outcome, bounds = FAILS, "never reaches it within its budget"
        else:
            first = reached[0]
            upper = np.inf if first == 0 else final_flops / mine[first - 1][0]
            lower = final_flops / mine[first][0]
            outcome = HOLDS if lower >= claim.at_least else (
                FAILS if upper < claim.at_least else INCONCLUSIVE)
            bounds = (f"reaches it at {mine[first][0]:.3g} FLOPs: {lower:.2f}x to "
                      + ("beyond (the curve's first point)" if first == 0 else f"{upper:.2f}x")
                      + " less compute")
        outcomes.append(outcome)
        evidence.append(f"{task} {metric}: {against}'s final {final_value:.4g} at "
                        f"{final_flops:.3g} FLOPs, target {target:.4g} (margin {claim.margin:g}); "
                        f"{claim.method} {bounds} (claim: >= {claim.at_least:g}x) -> {outcome}")
    return Verdict(claim, _all(outcomes), evidence)


def _mean_curve(records: Sequence[RunRecord], method: str, task: str, metric: str
                ) -> list[tuple[float, float]] | None:
    """(training FLOPs, seed-mean value of ``metric``) per checkpoint of the method's
    curves on ``task``."""
    curves = [r.curve for r in records if r.method == method and r.task == task and r.curve]
    if not curves:
        return None
    points = []
    for checkpoints in zip(*curves, strict=True):
        values = [v["value"] for p in checkpoints for k, v in p["metrics"].items()
                  if k.split(".", 1)[1].startswith(f"{metric}[")]
        if not values:
            return None
        points.append((float(np.mean([p["flops"] for p in checkpoints])),
                       float(np.mean(values))))
    return points


def _all(outcomes: Sequence[str]) -> str:
    """Every part holds -> holds; any part fails -> does not hold; else inconclusive."""
    if outcomes and all(o == HOLDS for o in outcomes):
        return HOLDS
    return FAILS if FAILS in outcomes else INCONCLUSIVE


def verdict_text(verdict: Verdict) -> str:
    """A verdict as plain lines: the claim, its verdict, the numbers, what the paper
    compared and what was measured instead, and the published figures labelled."""
    claim = verdict.claim
    lines = [f"{claim.id}: {verdict.verdict.upper()}",
             f"  claim: \"{claim.paper_says}\" ({claim.source})",
             *(f"  - {line}" for line in verdict.evidence),
             f"  the paper compared: {claim.paper_compared}",
             f"  measured here instead: {claim.harness_measures}"]
    lines += [f"  reported (not measured here): {figure}" for figure in claim.reported]
    return "\n".join(lines)
