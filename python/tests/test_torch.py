"""torch in and out, from_torch, and Captum on the same torch model. Skipped where torch (or
Captum) is not installed; torch is never a dependency of conflux."""
import numpy as np
import pytest

import conflux

torch = pytest.importorskip("torch")
nn = torch.nn


def mlp():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 3)).eval()


def cnn():
    torch.manual_seed(1)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2),
        nn.Flatten(), nn.Linear(4 * 4 * 4, 2),
    ).eval()


@pytest.mark.parametrize("make,shape", [(mlp, (5, 6)), (cnn, (5, 1, 8, 8))])
def test_from_torch_predicts_as_torch(make, shape):
    module = make()
    x = torch.randn(*shape)
    model = conflux.from_torch(module, x[:1])
    got = model.predict(x)
    assert isinstance(got, torch.Tensor) and got.dtype == torch.float32
    np.testing.assert_allclose(got.numpy(), module(x).detach().numpy(), rtol=1e-5, atol=1e-5)


def test_tensors_in_tensors_out_in_the_input_shape():
    module = cnn()
    x = torch.rand(3, 1, 8, 8, dtype=torch.float64)
    model = conflux.from_torch(module, x[:1].float())
    res = conflux.Cafe(model).attribute(x)
    assert isinstance(res.scores, torch.Tensor)
    assert res.scores.shape == x.shape and res.scores.dtype == torch.float64
    assert np.all(np.abs(res.completeness_gap) < 1e-8 * (1 + np.abs(res.output)))


def test_equal_to_captum_where_captum_is_exact():
    captum = pytest.importorskip("captum.attr")
    module = mlp().double()
    x = torch.randn(7, 6, dtype=torch.float64)
    r = torch.randn(1, 6, dtype=torch.float64)
    model = conflux.from_torch(mlp(), x[:1].float())
    target = 1
    pairs = [
        (conflux.InputXGradient(model).attribute(x, target=target),
         captum.InputXGradient(module).attribute(x, target=target)),
        (conflux.IntegratedGradients(model).attribute(x, baselines=r, target=target, n_steps=64),
         captum.IntegratedGradients(module).attribute(x, baselines=r, target=target, n_steps=64)),
        (conflux.DeepLift(model).attribute(x, baselines=r, target=target),
         captum.DeepLift(module).attribute(x, baselines=r.expand(7, 6), target=target)),
    ]
    for ours, theirs in pairs:
        np.testing.assert_allclose(ours.scores.numpy(), theirs.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_half_precision_tensors_come_back_in_their_dtype():
    module = mlp()
    x = torch.randn(4, 6)
    model = conflux.from_torch(module, x[:1])
    for dtype in (torch.float16, torch.bfloat16):
        res = conflux.Cafe(model).attribute(x.to(dtype))
        assert res.scores.dtype == dtype and res.scores.shape == (4, 6)
        full = conflux.Cafe(model).attribute(x.to(dtype).float())
        np.testing.assert_allclose(res.scores.float().numpy(), full.scores.numpy(), rtol=1e-2, atol=1e-2)
