"""FlowBind's per-modality anchor head ``H_m``: an embedding ``z_m`` -> anchor mean ``mu_m``.

    h_0 = W_in z_m                                                  D -> H
    h_j = h_{j-1} + W_j2 Dropout(SiLU(LN(W_j1 SiLU(LN(h_{j-1}))))) j = 1..n, W_j2 = 0 at init
    [mu_m, log sigma_m^2] = W_out h_n                               H -> 2D

The head is used only in training, to build the shared anchor ``z*``. FlowBind fixes the
anchor variance to a constant, so the log-variance half of the output is never read; the
output layer keeps its ``2D`` width so that the parameter count matches the official
architecture (10,640,256 per head for ``D = 768, H = 1152`` and three blocks).
"""

from __future__ import annotations

from torch import Tensor, nn


class ResidualBlock(nn.Module):
    """``h + Linear0(Dropout(SiLU(LN(Linear(SiLU(LN(h)))))))`` with ``Linear0`` zero-initialised."""

    def __init__(self, hidden: int, dropout: float) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.LayerNorm(hidden),
            nn.SiLU(),
            nn.Linear(hidden, hidden),
            nn.LayerNorm(hidden),
            nn.SiLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, hidden),
        )
        nn.init.zeros_(self.layers[-1].weight)
        nn.init.zeros_(self.layers[-1].bias)

    def forward(self, h: Tensor) -> Tensor:
        return h + self.layers(h)


class AnchorHead(nn.Module):
    """Maps ``z_m: Tensor[B, dim]`` to the anchor mean ``mu_m: Tensor[B, dim]``.

    Args:
        dim: embedding width ``D`` (also the anchor width).
        hidden: width ``H`` of the residual stream.
        blocks: number of residual blocks.
        dropout: dropout inside each residual block.
    """

    def __init__(self, dim: int, hidden: int, blocks: int = 3, dropout: float = 0.1) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(dim, hidden),
            *(ResidualBlock(hidden, dropout) for _ in range(blocks)),
            nn.Linear(hidden, 2 * dim),
        )

    def forward(self, z: Tensor) -> Tensor:
        """The anchor mean; the unused log-variance half of the output is dropped."""
        mean, _log_variance = self.layers(z).chunk(2, dim=-1)
        return mean
