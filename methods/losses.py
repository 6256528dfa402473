"""Losses more than one method uses.

**Symmetric InfoNCE** (CLIP's contrastive loss). For ``N`` pairs ``(a_i, b_i)`` and
similarity logits ``L[i, j] = s * sim(a_i, b_j)``,

    L_nce = (CE(L, I) + CE(L^T, I)) / 2,

the mean cross-entropy of picking each row's partner among the other side's rows, in
both directions. The logits are the caller's, because the methods scale them their own
way: CrossFlow multiplies cosine similarities by a learnable ``exp(a)`` clamped to 100
(as CLIP does), CoDi divides dot products of unit vectors by a fixed temperature.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def info_nce(logits: Tensor) -> Tensor:
    """Symmetric InfoNCE of ``logits: Tensor[N, N]`` whose diagonal holds the true pairs."""
    labels = torch.arange(logits.shape[0], device=logits.device)
    return (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2
