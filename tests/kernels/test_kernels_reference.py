"""Each fast path in numnet.kernels against the plain formula it computes, written as loops."""
import numpy as np
import pytest

from numnet.kernels import col2im, im2col, max_pool, max_pool_backward, sum_of_products, sum_rows

CASES = [  # (N, C, H, W), kernel, stride, padding: few channels (column blocks) and many (rows)
    ((2, 1, 6, 7), (3, 3), (1, 1), (0, 0)),
    ((3, 2, 7, 6), (2, 3), (2, 1), (1, 0)),
    ((2, 6, 5, 6), (3, 3), (2, 2), (1, 1)),
    ((1, 8, 6, 7), (2, 3), (1, 2), (0, 1)),
]


def im2col_loops(x, k, s, p):
    N, C, H, W = x.shape
    (kh, kw), (sh, sw), (ph, pw) = k, s, p
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    Ho, Wo = (H + 2 * ph - kh) // sh + 1, (W + 2 * pw - kw) // sw + 1
    cols = np.zeros((Ho * Wo * N, kh * kw * C))
    for i in range(Ho):
        for j in range(Wo):
            for n in range(N):
                for u in range(kh):
                    for v in range(kw):
                        for c in range(C):
                            cols[(i * Wo + j) * N + n, (u * kw + v) * C + c] = xp[n, c, sh * i + u, sw * j + v]
    return cols


@pytest.mark.parametrize("shape, k, s, p", CASES)
def test_im2col_is_the_windows_as_rows(shape, k, s, p, rng):
    x = rng.standard_normal(shape)
    np.testing.assert_array_equal(im2col(x, k, s, p, scratch={}), im2col_loops(x, k, s, p))
    spatial_major = np.ascontiguousarray(x.transpose(2, 3, 0, 1)).transpose(2, 3, 0, 1)   # as conv layers hand it on
    np.testing.assert_array_equal(im2col(spatial_major, k, s, p), im2col_loops(x, k, s, p))


@pytest.mark.parametrize("shape, k, s, p", CASES)
def test_col2im_is_the_adjoint_of_im2col(shape, k, s, p, rng):
    """⟨im2col(x), c⟩ = ⟨x, col2im(c)⟩ for every x and c: col2im adds each window's entry back
    where im2col took it from."""
    N, C, H, W = shape
    cols_shape = im2col_loops(np.zeros(shape), k, s, p).shape
    c = rng.standard_normal(cols_shape)
    blocks = c.reshape(-1, k[0] * k[1], C).transpose(1, 0, 2)           # (kh·kw, Ho·Wo·N, C)
    dx = col2im(np.ascontiguousarray(blocks), shape, k, s, p)
    x = rng.standard_normal(shape)
    assert np.sum(im2col_loops(x, k, s, p) * c) == pytest.approx(np.sum(x * dx), rel=1e-12)
    # and entry by entry, against the loop definition
    (kh, kw), (sh, sw), (ph, pw) = k, s, p
    Ho, Wo = (H + 2 * ph - kh) // sh + 1, (W + 2 * pw - kw) // sw + 1
    padded = np.zeros((N, C, H + 2 * ph, W + 2 * pw))
    for i in range(Ho):
        for jj in range(Wo):
            for n in range(N):
                for u in range(kh):
                    for v in range(kw):
                        padded[n, :, sh * i + u, sw * jj + v] += c[(i * Wo + jj) * N + n, (u * kw + v) * C:(u * kw + v + 1) * C]
    expected = padded[:, :, ph:ph + H, pw:pw + W]
    np.testing.assert_allclose(dx, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("k, s", [((2, 2), (2, 2)), ((3, 3), (2, 2)), ((2, 3), (1, 2)), ((3, 2), (3, 2))])
def test_max_pool_and_its_backward(k, s, rng):
    x = rng.integers(-3, 4, (2, 3, 7, 8)).astype(np.float64)            # small integers: many ties
    (kh, kw), (sh, sw) = k, s
    Ho, Wo = (7 - kh) // sh + 1, (8 - kw) // sw + 1
    y = max_pool(x, k, s)
    dy = rng.standard_normal(y.shape)
    ref_y, ref_dx = np.zeros((2, 3, Ho, Wo)), np.zeros_like(x)
    for n in range(2):
        for c in range(3):
            for i in range(Ho):
                for j in range(Wo):
                    window = x[n, c, sh * i:sh * i + kh, sw * j:sw * j + kw]
                    ref_y[n, c, i, j] = window.max()
                    u, v = np.unravel_index(np.argmax(window), window.shape)    # the first maximum
                    ref_dx[n, c, sh * i + u, sw * j + v] += dy[n, c, i, j]
    np.testing.assert_array_equal(y, ref_y)
    np.testing.assert_allclose(max_pool_backward(x, y, dy, k, s), ref_dx, rtol=1e-12, atol=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sums(dtype, rng):
    a = rng.standard_normal((3000, 7)).astype(dtype)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(sum_rows(a), a.astype(np.float64).sum(axis=0), rtol=tol, atol=tol)
    out = np.empty(7, dtype)
    assert sum_rows(a, out=out) is out
    for K in (25, 100):                                                 # blocked and plain GEMM
        left, right = rng.standard_normal((K, 5000)).astype(dtype), rng.standard_normal((5000, 6)).astype(dtype)
        ref = left.astype(np.float64) @ right.astype(np.float64)
        np.testing.assert_allclose(sum_of_products(left, right), ref, rtol=tol * 10, atol=tol * 100)
