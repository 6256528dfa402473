"""Audio features for FAD from the embedded audio judge.

A clip x maps to the judge's scaled penultimate features f(x) in R^128 (see
metrics/evaluators/attribute_judges.py). With pretrained evaluators the audio features are
laion-clap's audio embeddings instead (metrics/evaluators/evaluator_set.py).
"""

from __future__ import annotations

import numpy as np

from benchmark.core.media.logmel import LogMelClips
from metrics.evaluators.attribute_judges import AttributeJudge


def judge_audio_features(judge: AttributeJudge, audio: np.ndarray | LogMelClips
                         ) -> np.ndarray:
    """The embedded audio judge's penultimate features ``[N, 128]`` of clips ``[N, T]``
    (decoded clips are read as their log-mel maps, benchmark/core/media/logmel.py)."""
    if judge.modality != "audio":
        raise ValueError(f"an audio judge is needed, got a {judge.modality} judge")
    return judge.features(audio).numpy()
