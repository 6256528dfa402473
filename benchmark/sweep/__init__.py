"""Sweeps: plan methods x tasks x seeds into training groups, claim each group's runs, and
hand them to an executor (local processes, submitit on this machine, or a SLURM array)."""
