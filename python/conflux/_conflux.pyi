"""Type stubs of the native module (the Rust part of conflux)."""
from os import PathLike
from typing import Any, Optional, Sequence, Union

import numpy as np

__version__: str

class Model:
    """A loaded network or AME."""

    @property
    def n_features(self) -> int: ...
    @property
    def n_outputs(self) -> int: ...
    @property
    def input_shape(self) -> list[int]: ...
    @property
    def feature_names(self) -> Optional[list[str]]: ...
    @property
    def kind(self) -> str: ...
    @property
    def groups(self) -> Optional[list[str]]: ...
    @property
    def ame_task(self) -> Optional[str]: ...
    def inspect(self) -> str: ...
    def ame_explain(
        self, x: np.ndarray, labels: Optional[Sequence[float]] = None, threads: Optional[int] = None
    ) -> dict[str, np.ndarray]: ...
    def ame_evaluate(
        self, x: np.ndarray, labels: Sequence[float], threads: Optional[int] = None
    ) -> dict[str, Any]: ...
    def save(self, path: "Union[str, PathLike[str]]") -> None: ...
    def predict(self, x: np.ndarray) -> np.ndarray: ...

def load(
    source: Union[str, "PathLike[str]", bytes],
    input_shape: Optional[Sequence[int]] = None,
    arch: Optional[str] = None,
) -> Model: ...
def methods() -> list[str]: ...
def metrics(
    model: Model,
    method: str,
    x: np.ndarray,
    names: list[str],
    baselines: Optional[np.ndarray] = None,
    target: Union[None, int, str] = None,
    groups: Optional[Sequence[int]] = None,
    seed: int = 0,
    threads: Optional[int] = None,
    perturb_sd: float = 0.5,
    categorical_prob: float = 0.1,
    categorical: Sequence[int] = (),
    samples: int = 10,
    radius: float = 0.02,
) -> dict[str, Any]: ...
def attribute(
    model: Model,
    method: str,
    x: np.ndarray,
    baselines: Optional[np.ndarray] = None,
    target: Union[None, int, str] = None,
    groups: Optional[Sequence[int]] = None,
    seed: int = 0,
    threads: Optional[int] = None,
    average: bool = False,
) -> dict[str, Any]: ...
def train_mlp(
    x: np.ndarray,
    y: Sequence[float],
    names: Sequence[str],
    task: str,
    hidden: Sequence[int] = (64, 64),
    activation: str = "relu",
    epochs: int = 20,
    batch_size: int = 64,
    lr: float = 1e-3,
    weight_decay: float = 1e-2,
    patience: int = 5,
    val_split: float = 0.2,
    standardize: bool = True,
    bias: bool = True,
    seed: int = 0,
) -> tuple[Model, dict[str, Any]]: ...
def train_ame(
    x: np.ndarray,
    y: Sequence[float],
    names: Sequence[str],
    task: str,
    groups: Optional[Sequence[tuple[str, Sequence[int]]]] = None,
    hidden: Sequence[int] = (16,),
    gate_width: Optional[int] = None,
    alpha: float = 0.05,
    attention_dropout: float = 0.2,
    epochs: int = 200,
    batch_size: int = 64,
    lr: float = 1e-3,
    patience: int = 12,
    val_split: float = 0.2,
    standardize: bool = True,
    image: Optional[tuple[int, int]] = None,
    stem_convs: int = 2,
    seed: int = 0,
    granger_hidden: Optional[int] = None,
) -> tuple[Model, str, list[tuple[float, float, float]]]: ...
