"""The CNN of `conflux bench cafe` in PyTorch, shared by the benchmark scripts here: 28×28
input, Conv(1→8, 3×3) ReLU MaxPool(2) Conv(8→16, 3×3) ReLU, a residual block Conv(16→16)
ReLU Conv(16→16) + identity, ReLU, MaxPool(2), Flatten, Linear(784→10)."""
import torch.nn as nn


class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = nn.Sequential(nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 16, 3, padding=1))

    def forward(self, x):
        return x + self.block(x)


def build(residual_cls=Residual):
    """The CNN in eval mode; `residual_cls()` makes the residual block (the authors' code
    needs its own module there)."""
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), residual_cls(), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(784, 10),
    ).eval()
