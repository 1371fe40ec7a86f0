"""The numba engine's convolution and pooling kernels (numnet.kernels.jit_conv) against the NumPy
functions they replace: im2col gathers and max pooling's backward pass compares and routes, so
they must agree exactly; col2im and overlapping pooling windows add in the same order as the NumPy
passes, so they must too (float64 and float32).
Odd shapes, strides other than the kernel (gaps and overlapping windows), padding, ties, NaN,
and inputs in other memory layouts (NumPy's path, or the kernels' strided versions)."""
import numpy as np
import pytest

import numnet
from numnet.kernels import col2im, engine, im2col, max_pool, max_pool_backward

pytest.importorskip("numba", reason="the numba engine's kernels need numba (a default dependency)")

from numnet.kernels import jit_conv  # noqa: E402  (after the skip: it imports numba)

DTYPES = [np.float64, np.float32]
TOL = {np.float64: 1e-12, np.float32: 1e-6}
CONV_CASES = [  # (N, C, H, W), kernel, stride, padding
    ((3, 6, 7, 9), (3, 2), (2, 1), (1, 2)),
    ((2, 5, 8, 8), (5, 5), (1, 1), (0, 0)),
    ((4, 8, 6, 5), (2, 2), (3, 2), (1, 0)),     # stride > kernel: positions in no window
    ((1, 7, 5, 5), (5, 5), (1, 1), (2, 2)),
]
POOL_CASES = [  # (N, C, H, W), kernel, stride
    ((3, 5, 8, 6), (2, 2), (2, 2)),             # tiled
    ((2, 4, 7, 9), (2, 2), (2, 2)),             # odd sizes: last row and column in no window
    ((2, 3, 9, 7), (3, 3), (2, 2)),             # overlapping windows
    ((2, 3, 8, 9), (2, 3), (3, 2)),             # gaps in one direction, overlap in the other
    ((1, 2, 5, 5), (1, 1), (1, 1)),
]


@pytest.fixture
def use_engine():
    """engine.use(name) for the test, then back to the default."""
    yield engine.use
    engine.use(None)


def spatial_major(a):
    """a's values in (H, W, N, C) memory behind the (N, C, H, W) shape, as convolutions hand them on."""
    return np.ascontiguousarray(a.transpose(2, 3, 0, 1)).transpose(2, 3, 0, 1)


def both_engines(use_engine, fn, *args):
    use_engine("numpy")
    ref = fn(*args)
    use_engine("numba")
    return ref, fn(*args)


def counting(monkeypatch, name):
    """Count the calls of jit_conv.<name> (to check the compiled path is the one taken)."""
    calls = []
    kernel = getattr(jit_conv, name)
    monkeypatch.setattr(jit_conv, name, lambda *a: calls.append(1) or kernel(*a))
    return calls


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, k, s, p", CONV_CASES)
def test_im2col_gather_matches_numpy(shape, k, s, p, dtype, use_engine, monkeypatch):
    x = spatial_major(np.random.default_rng(0).standard_normal(shape).astype(dtype))
    calls = counting(monkeypatch, "im2col_rows")
    ref, got = both_engines(use_engine, lambda: im2col(x, k, s, p, {}).copy())
    assert calls and got.dtype == dtype
    np.testing.assert_array_equal(got, ref)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, k, s, p", CONV_CASES)
def test_col2im_matches_numpy_shifted_adds(shape, k, s, p, dtype, use_engine, monkeypatch):
    N, C, H, W = shape
    Ho, Wo = numnet.functional.conv_out_size(H, k[0], s[0], p[0]), numnet.functional.conv_out_size(W, k[1], s[1], p[1])
    dX_col = np.random.default_rng(1).standard_normal((k[0] * k[1], Ho * Wo * N, C)).astype(dtype)
    calls = counting(monkeypatch, "col2im")
    ref, got = both_engines(use_engine, col2im, dX_col, shape, k, s, p)
    assert calls and got.shape == ref.shape == shape and got.dtype == dtype
    np.testing.assert_array_equal(got, ref)                 # the same adds in the same order
    assert got.transpose(2, 3, 0, 1).flags.c_contiguous     # spatial-major, as the NumPy path's


def test_col2im_is_im2cols_adjoint(use_engine):
    """<im2col(x), D> = <x, col2im(D)> for any x, D (float64): the kernels compute the adjoint pair."""
    use_engine("numba")
    rng = np.random.default_rng(2)
    shape, k, s, p = CONV_CASES[0]
    x = spatial_major(rng.standard_normal(shape))
    cols = im2col(x, k, s, p)                               # (Ho·Wo·N, kh·kw·C), columns (u, v, c)
    D = rng.standard_normal(cols.shape)
    blocks = D.reshape(-1, k[0] * k[1], shape[1]).transpose(1, 0, 2).copy()   # (kh·kw, Ho·Wo·N, C)
    lhs, rhs = np.sum(cols * D), np.sum(x * col2im(blocks, shape, k, s, p))
    assert abs(lhs - rhs) <= 1e-12 * np.abs(cols * D).sum()


def pool_input(shape, dtype, seed=0):
    """Small integers (many ties inside windows), some negative, as spatial-major memory."""
    x = np.random.default_rng(seed).integers(-2, 3, size=shape).astype(dtype)
    return spatial_major(x)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, k, s", POOL_CASES)
def test_max_pool_backward_matches_numpy(shape, k, s, dtype, use_engine, monkeypatch):
    x = pool_input(shape, dtype)
    backward = counting(monkeypatch, "max_pool_backward")
    y_ref, y = both_engines(use_engine, max_pool, x, k, s)
    assert y.dtype == dtype and y.transpose(2, 3, 0, 1).flags.c_contiguous   # x's layout
    np.testing.assert_array_equal(y, y_ref)
    dy = spatial_major(np.random.default_rng(3).standard_normal(y.shape).astype(dtype))
    dy_nchw = np.ascontiguousarray(dy)                       # as Flatten.backward hands it back
    for g in (dy, dy_nchw):
        ref, got = both_engines(use_engine, max_pool_backward, x, y, g, k, s)
        assert got.dtype == dtype
        np.testing.assert_array_equal(got, ref)              # ties: the first maximum of each window
    assert len(backward) == 2


def test_max_pool_ties_go_to_the_first_maximum(use_engine):
    use_engine("numba")
    x = spatial_major(np.array([[[[1.0, 3.0], [3.0, 3.0]]]]))
    y = max_pool(x, (2, 2), (2, 2))
    dx = max_pool_backward(x, y, spatial_major(np.full((1, 1, 1, 1), 5.0)), (2, 2), (2, 2))
    assert y[0, 0, 0, 0] == 3.0
    np.testing.assert_array_equal(dx[0, 0], [[0.0, 5.0], [0.0, 0.0]])


@pytest.mark.parametrize("dtype", DTYPES)
def test_max_pool_nan_propagates_and_gets_no_gradient_as_in_numpy(dtype, use_engine):
    x = np.arange(2 * 3 * 4 * 4, dtype=dtype).reshape(2, 3, 4, 4)
    x[0, 1, 0, 1] = x[1, 2, 3, 3] = np.nan
    x = spatial_major(x)
    y_ref, y = both_engines(use_engine, max_pool, x, (2, 2), (2, 2))
    np.testing.assert_array_equal(y, y_ref)                 # equal_nan for NaN positions
    assert np.isnan(y[0, 1, 0, 0]) and np.isnan(y[1, 2, 1, 1])
    dy = np.ones_like(y)
    ref, got = both_engines(use_engine, max_pool_backward, x, y, dy, (2, 2), (2, 2))
    np.testing.assert_array_equal(got, ref)
    assert got[0, 1, :2, :2].sum() == 0


@pytest.mark.parametrize("dtype", DTYPES)
def test_other_memory_layouts_take_numpys_path_with_the_same_values(dtype, use_engine, monkeypatch):
    """NCHW-contiguous or sliced inputs: not spatial-major, so the NumPy functions run."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((4, 6, 9, 8)).astype(dtype)[::2, :, 1:, ::-1]   # strided, reversed
    calls = [counting(monkeypatch, name) for name in ("im2col_rows", "max_pool_backward")]
    cols_ref, cols = both_engines(use_engine, lambda: im2col(x, (3, 3), (1, 2), (1, 1)).copy())
    np.testing.assert_array_equal(cols, cols_ref)
    y_ref, y = both_engines(use_engine, max_pool, x, (2, 2), (2, 2))
    np.testing.assert_array_equal(y, y_ref)
    dy = rng.standard_normal(y.shape).astype(dtype)
    dx_ref, dx = both_engines(use_engine, max_pool_backward, x, y, dy, (2, 2), (2, 2))
    np.testing.assert_array_equal(dx, dx_ref)
    assert not any(calls)


@pytest.mark.parametrize("dtype", DTYPES)
def test_kernels_take_strided_arrays(dtype):
    """Called directly with non-contiguous arrays, the kernels compute the same as with copies."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((9, 8, 3, 12)).astype(dtype)[:, :, :, ::2]     # (H, W, N, C), strided
    cols_a, cols_b = (np.zeros((4, 7, 3, 3, 2, 6), dtype) for _ in range(2))
    jit_conv.im2col_rows(x, cols_a, 2, 1, 1, 0)
    jit_conv.im2col_rows(np.ascontiguousarray(x), cols_b, 2, 1, 1, 0)
    np.testing.assert_array_equal(cols_a, cols_b)
    blocks = rng.standard_normal((3, 2, 4, 7, 36)).astype(dtype)[..., ::2]
    dx_a, dx_b = np.empty((9, 8, 18), dtype), np.empty((9, 8, 18), dtype)
    jit_conv.col2im(blocks, dx_a, 2, 1, 1, 0)
    jit_conv.col2im(np.ascontiguousarray(blocks), dx_b, 2, 1, 1, 0)
    np.testing.assert_array_equal(dx_a, dx_b)
    x3 = rng.standard_normal((9, 8, 40)).astype(dtype)[..., ::2]                # (H, W, P), strided
    y = np.zeros((4, 3, 20), dtype)
    for i in range(4):
        for j in range(3):
            y[i, j] = x3[2 * i:2 * i + 3, 2 * j:2 * j + 3].max(axis=(0, 1))
    dy = rng.standard_normal((4, 3, 40)).astype(dtype)[..., ::2]
    dx_a, dx_b = np.empty((9, 8, 20), dtype), np.empty((9, 8, 20), dtype)
    jit_conv.max_pool_backward(x3, y, dy, dx_a, 3, 3, 2, 2)
    jit_conv.max_pool_backward(np.ascontiguousarray(x3), y, np.ascontiguousarray(dy), dx_b, 3, 3, 2, 2)
    np.testing.assert_array_equal(dx_a, dx_b)
    assert np.count_nonzero(dx_a) >= 1


@pytest.mark.parametrize("dtype", DTYPES)
def test_conv_net_step_agrees_across_engines(dtype, use_engine):
    """A conv-pool-relu net's output and gradients: numba engine = NumPy engine (float64 ≤ 1e-12,
    float32 ≤ 1e-6 relative to each array's scale)."""
    from numnet.architectures import build

    rng = np.random.default_rng(6)
    x, y = rng.standard_normal((8, 1, 14, 14)).astype(dtype), rng.integers(0, 10, 8)
    results = []
    for name in ("numpy", "numba"):
        use_engine(name)
        model = numnet.Sequential(build("conv(6,3,padding=1)-pool(2)-relu-conv(8,3)-pool(2,1)-relu-"
                                        "flatten-dense(10)", input_shape=(1, 14, 14)), dtype=dtype, seed=0)
        out = model.forward(x)
        loss = numnet.SoftmaxCrossEntropy()
        loss.forward(out, y)
        model.backward(loss.backward())
        results.append([out, model.flat_grads.copy()])
    for a, b in zip(*results):
        scale = max(np.abs(a).max(), 1e-30)
        assert np.abs(a - b).max() <= TOL[dtype] * scale


@pytest.mark.parametrize("k, s", [((2, 2), (2, 2)), ((3, 3), (2, 2))])
def test_max_pool_backward_of_an_infinite_or_nan_gradient_as_in_numpy(k, s, use_engine):
    """dy ⊙ hit: inf·0 is NaN at the window's other positions, in both engines (tiled and overlapping)."""
    x = spatial_major(np.random.default_rng(5).standard_normal((2, 3, 8, 8)).astype(np.float32))
    y = max_pool(x, k, s)                                    # 8x8: 2x2/2 windows tile it, 3x3/2 overlap
    dy = spatial_major(np.ones(y.shape, np.float32))
    dy[0, 0, 0, 0], dy[1, 1, 0, 1] = np.inf, np.nan
    with np.errstate(invalid="ignore"):
        ref, got = both_engines(use_engine, max_pool_backward, x, y, dy, k, s)
    np.testing.assert_array_equal(got, ref)
    assert np.isnan(got[0, 0, :k[0], :k[1]]).any()
