"""A metric plug-in, loaded by path (``tests/plugins/exact_match.py:EXACT_MATCH``): the share
of items whose every attribute the judge reads back."""

import numpy as np

from metrics.spec import OUTPUTS_AND_CEILING, MetricInputs, MetricSpec
from metrics.value import MetricValue, mean_with_bootstrap


def exact_match(inputs: MetricInputs) -> MetricValue:
    """s_i = 1[p_i = a_i] (all A attributes right); their mean, with a bootstrap CI."""
    hits = (np.asarray(inputs.output) == inputs.labels).all(axis=1).astype(float)
    return mean_with_bootstrap(hits, seed=inputs.seed)


EXACT_MATCH = MetricSpec(
    name="exact_match", description="share of items with every attribute right "
    "(higher is better)", higher_is_better=True, targets=("text", "image", "audio"),
    evaluator="attributes", compute=exact_match, needs_labels=True, needs_reference=False,
    rows=OUTPUTS_AND_CEILING,
)
