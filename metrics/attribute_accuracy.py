"""Attribute accuracy: does the generated output show its source's latent attributes?

For item i with true attributes a_i in N^A and judge predictions p_i on the generated
output, the per-sample score is (1/A) * sum_k 1[p_ik = a_ik]; the metric is their mean
with a bootstrap interval. Chance level is the mean over attributes of 1/|values_k|.
"""

from __future__ import annotations

import numpy as np

from benchmark.core.modalities import MODALITIES
from metrics.spec import OUTPUTS_AND_CEILING, MetricInputs, MetricSpec
from metrics.value import MetricValue, mean_with_bootstrap


def per_sample_accuracy(predicted: np.ndarray, true: np.ndarray) -> np.ndarray:
    """``float [N]``: fraction of the A attributes predicted correctly for each item."""
    return (np.asarray(predicted) == np.asarray(true)).mean(axis=1)


def attribute_accuracy(predicted: np.ndarray, true: np.ndarray, seed: int = 0) -> MetricValue:
    """Mean per-item accuracy over the N items, with a bootstrap interval over items."""
    return mean_with_bootstrap(per_sample_accuracy(predicted, true), seed=seed)


def _attribute_accuracy(inputs: MetricInputs) -> MetricValue:
    return attribute_accuracy(inputs.output, inputs.labels, seed=inputs.seed)


ATTRIBUTE_ACCURACY = MetricSpec(
    name="attr_acc",
    description="attribute accuracy of generated media under the target's attribute judge, "
                "bootstrap CI (higher is better)",
    higher_is_better=True, targets=MODALITIES, evaluator="attributes",
    compute=_attribute_accuracy, needs_labels=True, needs_reference=False,
    rows=OUTPUTS_AND_CEILING,
)
