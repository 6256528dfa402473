"""Scoring a trained method: sample each task (round trips and single-source gains
included), score the outputs with the run's evaluators beside the reference rows, and the
quality-vs-compute curve. Reads prepared inputs; knows nothing of training or records."""
