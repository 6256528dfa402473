"""Attribute accuracy: does the generated output show its source's latent attributes?

For item i with true attributes a_i in N^A and judge predictions p_i on the generated
output, let K_i = {k : a_ik != -1 and p_ik != -1} be the columns where both are known (-1
is an unknown label, or a column the judge could not learn: metrics/spec.py). Then

    attr_acc      s_i = (1/|K_i|) * sum_{k in K_i} 1[p_ik = a_ik]   over items with K_i
                  non-empty (every item, every column, on complete test labels)
    attr_acc_<c>  s_i = 1[p_ic = a_ic]   over items with c in K_i, for each label column c

each the mean of its per-item scores with a bootstrap interval. Chance level is
1/|values_c| for column c, and the mean of those over columns for attr_acc.
"""

from __future__ import annotations

import numpy as np

from benchmark.core.modalities import MODALITIES
from metrics.spec import OUTPUTS_AND_CEILING, UNKNOWN, MetricInputs, MetricSpec
from metrics.value import MetricValue, mean_with_bootstrap


def _known(predicted: np.ndarray, true: np.ndarray) -> np.ndarray:
    """``bool [N, A]``: where both the label and the prediction are known."""
    return (true != UNKNOWN) & (predicted != UNKNOWN)


def per_sample_accuracy(predicted: np.ndarray, true: np.ndarray) -> np.ndarray:
    """``float [N']``: the fraction of known columns predicted correctly, for each of the
    N' items with at least one known column (module doc)."""
    predicted, true = np.asarray(predicted), np.asarray(true)
    known = _known(predicted, true)
    counts = known.sum(axis=1)
    hits = ((predicted == true) & known).sum(axis=1)
    scored = counts > 0
    return hits[scored] / counts[scored]


def attribute_accuracy(predicted: np.ndarray, true: np.ndarray, seed: int = 0) -> MetricValue:
    """Mean per-item accuracy over the items, with a bootstrap interval over items."""
    return mean_with_bootstrap(per_sample_accuracy(predicted, true), seed=seed)


def column_accuracies(predicted: np.ndarray, true: np.ndarray, names: tuple[str, ...],
                      seed: int = 0) -> dict[str, MetricValue]:
    """``{column name: accuracy}``: per label column c, the mean of 1[p_ic = a_ic] over the
    items where both are known, with a bootstrap interval; a column with no such item
    (one the judge could not learn) has no value."""
    predicted, true = np.asarray(predicted), np.asarray(true)
    known = _known(predicted, true)
    hits = predicted == true
    return {name: mean_with_bootstrap(hits[known[:, c], c].astype(np.float64), seed=seed)
            for c, name in enumerate(names) if known[:, c].any()}


def _attribute_accuracy(inputs: MetricInputs) -> MetricValue:
    return attribute_accuracy(inputs.output, inputs.labels, seed=inputs.seed)


def _column_accuracies(inputs: MetricInputs) -> dict[str, MetricValue]:
    return column_accuracies(inputs.output, inputs.labels, inputs.label_names, seed=inputs.seed)


ATTRIBUTE_ACCURACY = MetricSpec(
    name="attr_acc",
    description="attribute accuracy of generated media under the target's attribute judge, "
                "overall and per label column (attr_acc_<column>), bootstrap CI (higher is "
                "better)",
    higher_is_better=True, targets=MODALITIES, evaluator="attributes",
    compute=_attribute_accuracy, needs_labels=True, needs_reference=False,
    rows=OUTPUTS_AND_CEILING, breakdown=_column_accuracies,
)
