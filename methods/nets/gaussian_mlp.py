"""A residual MLP that maps a vector to a diagonal Gaussian ``(mean, log-variance)``.

    h_0 = W_in x                                                    D_in -> H
    h_j = h_{j-1} + W_j2 Dropout(SiLU(LN(W_j1 SiLU(LN(h_{j-1}))))) j = 1..n, W_j2 = 0 at init
    [mean, log sigma^2] = W_out h_n                                 H -> 2 D_out

FlowBind's anchor head ``H_m`` is one (``D_in = D_out = D``); it fixes the anchor
variance to a constant and reads only the mean, but keeps the ``2D`` output so that the
parameter count matches the official architecture (10,640,256 per head for
``D = 768, H = 1152`` and three blocks). CrossFlow's variational encoder is another
(``D_in`` the source width, ``D_out`` the target's).
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


class GaussianMLP(nn.Module):
    """Maps ``x: Tensor[B, in_dim]`` to ``(mean, log_variance)``, each ``Tensor[B, out_dim]``.

    Args:
        in_dim: input width ``D_in``.
        out_dim: width ``D_out`` of the mean and of the log-variance.
        hidden: width ``H`` of the residual stream.
        blocks: number of residual blocks.
        dropout: dropout inside each residual block.
    """

    def __init__(
        self, in_dim: int, out_dim: int, hidden: int, blocks: int = 3, dropout: float = 0.1
    ) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(in_dim, hidden),
            *(ResidualBlock(hidden, dropout) for _ in range(blocks)),
            nn.Linear(hidden, 2 * out_dim),
        )

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        mean, log_variance = self.layers(x).chunk(2, dim=-1)
        return mean, log_variance
