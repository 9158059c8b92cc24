"""Int8 quantize/dequantize: equal to PyTorch's fake-quantization ops, with the s/2 error bound."""

import warnings

import pytest
import torch

from respai.efficiency.quantization import (
    QMAX,
    QMIN,
    asymmetric_qparams,
    dequantize,
    fake_quantize,
    quantize,
    symmetric_qparams,
)
from respai.exceptions import ParameterTypeError, ParameterValueError

# Float32 computes x * (1/s) with a relative rounding error of at most ~2 units in the last
# place (u = 2^-24): the bound |x - Q(x)| <= s/2 holds up to 4 u |x| (and 0 when exact).
U = 2.0**-24


def data(seed=0, shape=(32, 17)):
    generator = torch.Generator().manual_seed(seed)
    # Channels with very different ranges and one-sided ones (ReLU-like).
    x = torch.randn(shape, generator=generator) * torch.logspace(-2, 1, shape[-1])
    x[:, :3] = x[:, :3].abs()
    return x


def torch_fake_quantize(x, scale, zero_point, axis):
    if axis is None:
        return torch.fake_quantize_per_tensor_affine(x, scale.item(), int(zero_point), QMIN, QMAX)
    return torch.fake_quantize_per_channel_affine(
        x, scale, zero_point.to(torch.int32), axis, QMIN, QMAX
    )


@pytest.mark.parametrize("qparams", [symmetric_qparams, asymmetric_qparams])
@pytest.mark.parametrize("axis", [None, 0, 1, -1])
@pytest.mark.parametrize("seed", [0, 1])
def test_equals_torch_fake_quantize_bit_for_bit(qparams, axis, seed):
    x = data(seed)
    scale, zero_point = qparams(x, axis=axis)
    ours = dequantize(quantize(x, scale, zero_point, axis=axis), scale, zero_point, axis=axis)
    reference = torch_fake_quantize(x, scale, zero_point, None if axis is None else axis % 2)
    assert torch.equal(ours, reference)


@pytest.mark.parametrize("axis", [None, 1])
def test_asymmetric_qparams_equal_torch_minmax_observer(axis):
    from torch.ao.quantization.observer import MinMaxObserver, PerChannelMinMaxObserver

    x = data(2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization is deprecated in torch 2.13
        if axis is None:
            observer = MinMaxObserver(dtype=torch.qint8, qscheme=torch.per_tensor_affine)
        else:
            observer = PerChannelMinMaxObserver(
                ch_axis=axis, dtype=torch.qint8, qscheme=torch.per_channel_affine
            )
        observer(x)
        scale, zero_point = observer.calculate_qparams()
    ours_scale, ours_zero = asymmetric_qparams(x, axis=axis)
    torch.testing.assert_close(ours_scale, scale.reshape(ours_scale.shape), rtol=1e-6, atol=0)
    assert torch.equal(ours_zero, zero_point.reshape(ours_zero.shape).to(torch.int64))


def test_symmetric_qparams_equal_torch_observer_on_the_restricted_range():
    from torch.ao.quantization.observer import PerChannelMinMaxObserver

    # Symmetric codes here use [-127, 127] (s = max|x| / 127); PyTorch's observer gives the
    # same scale when told that range.
    x = data(3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        observer = PerChannelMinMaxObserver(
            ch_axis=0,
            dtype=torch.qint8,
            qscheme=torch.per_channel_symmetric,
            quant_min=-127,
            quant_max=127,
        )
        observer(x)
        scale, zero_point = observer.calculate_qparams()
    ours_scale, ours_zero = symmetric_qparams(x, axis=0)
    torch.testing.assert_close(ours_scale, scale, rtol=1e-6, atol=0)
    assert torch.all(ours_zero == 0) and torch.all(zero_point == 0)


@pytest.mark.parametrize("qparams", [symmetric_qparams, asymmetric_qparams])
@pytest.mark.parametrize("axis", [None, 0, 1])
def test_error_bound_half_a_step_inside_the_range(qparams, axis):
    x = data(4)
    scale, zero_point = qparams(x, axis=axis)
    q = quantize(x, scale, zero_point, axis=axis)
    x_hat = dequantize(q, scale, zero_point, axis=axis)
    s = scale if axis is None else scale.reshape([-1 if d == axis else 1 for d in range(2)])
    error = (x - x_hat).abs()
    assert torch.all(error <= s / 2 + 4 * U * x.abs())
    # ... and the bound is attained up to one grid step: the rounding error is spread out.
    assert (error / s).max() > 0.45


def test_grid_points_are_exact_and_out_of_range_values_clip():
    scale, zero_point = torch.tensor(0.25), torch.tensor(-20)
    codes = torch.arange(QMIN, QMAX + 1)
    grid = scale * (codes - zero_point).float()
    q = quantize(grid, scale, zero_point)
    assert torch.equal(q.to(torch.int64), codes)
    assert torch.equal(dequantize(q, scale, zero_point), grid)
    low, high = scale * (QMIN - zero_point), scale * (QMAX - zero_point)
    outside = torch.tensor([low - 10.0, high + 3.0])
    assert torch.equal(
        dequantize(quantize(outside, scale, zero_point), scale, zero_point),
        torch.stack([low, high]),
    )


def test_symmetric_is_odd_and_asymmetric_represents_zero_exactly():
    x = data(5)
    scale, zero = symmetric_qparams(x)
    assert torch.equal(quantize(-x, scale, zero), -quantize(x, scale, zero))
    assert quantize(x, scale, zero).abs().max() == 127
    x = torch.cat([data(6).reshape(-1), torch.zeros(3)])
    scale, zero = asymmetric_qparams(x)
    q = quantize(x, scale, zero)
    assert torch.all(dequantize(q, scale, zero)[-3:] == 0)
    assert q.min() == QMIN and q.max() == QMAX  # the range uses all 256 levels


def test_one_sided_data_uses_the_full_range_asymmetrically():
    x = torch.linspace(0, 2.55, 256)
    scale, zero = asymmetric_qparams(x)
    assert zero == QMIN and scale.item() == pytest.approx(0.01)
    sym_scale, _ = symmetric_qparams(x)
    assert sym_scale > 1.9 * scale  # symmetric wastes the negative half


def test_zero_tensor_has_a_finite_scale():
    for qparams in (symmetric_qparams, asymmetric_qparams):
        scale, zero = qparams(torch.zeros(4, 3), axis=1)
        assert torch.all(scale > 0) and torch.all(torch.isfinite(scale))
        assert torch.equal(
            fake_quantize(torch.zeros(4, 3), symmetric=qparams is symmetric_qparams, axis=1),
            torch.zeros(4, 3),
        )


def test_float64_is_supported():
    x = data(7).double()
    out = fake_quantize(x, symmetric=False, axis=0)
    assert out.dtype == torch.float64
    scale, _ = asymmetric_qparams(x, axis=0)
    assert torch.all((x - out).abs() <= scale[:, None] / 2 * (1 + 1e-12))


def test_bad_input():
    with pytest.raises(ParameterTypeError, match="floating-point"):
        symmetric_qparams(torch.tensor([1, 2]))
    with pytest.raises(ParameterValueError, match="finite"):
        asymmetric_qparams(torch.tensor([1.0, float("nan")]))
    with pytest.raises(ParameterValueError, match="axis"):
        symmetric_qparams(torch.ones(2, 2), axis=2)
    with pytest.raises(ParameterValueError, match="scale"):
        quantize(torch.ones(3), 0.0, 0)
    with pytest.raises(ParameterValueError, match="zero_point"):
        quantize(torch.ones(3), 0.1, 200)
    with pytest.raises(ParameterValueError, match="shape"):
        quantize(torch.ones(2, 3), torch.ones(2), torch.zeros(2), axis=1)
    with pytest.raises(ParameterTypeError, match="int8"):
        dequantize(torch.ones(3), 0.1, 0)
    with pytest.raises(ParameterTypeError, match="symmetric"):
        fake_quantize(torch.ones(3), symmetric="yes")
