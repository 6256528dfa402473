"""One run: resolve its settings, prepare its inputs (dataset, backbones, embeddings), train
the method under its budget (on one process or many), then hand it to scoring and write its
record (pipeline.py). Nothing here is imported by ``results/`` or ``scoring/``."""
