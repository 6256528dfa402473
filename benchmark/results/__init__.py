"""What runs leave in a results folder and how it is read: the RunRecord schema and its
files, the staging area that publishes them, claims on run keys, the sweep plan, and a
run's summary table. Imports nothing of ``run/``, ``scoring/`` or ``sweep/``."""
