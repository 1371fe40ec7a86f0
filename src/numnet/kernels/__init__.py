"""Fast paths behind named functions: the machinery floor under the layers.

Each function computes one formula that a layer's docstring states, in the memory layout and
with the tricks that make it fast in NumPy (strided views, blocked GEMMs, reused buffers). The
layers call them by name; tests/kernels/test_kernels_reference.py checks each against the plain formula.

    sum_rows(a)                      Σ over the rows of an (M, K) array (a GEMV with ones)
    sum_of_products(a, b)            a·b for a long inner dimension (a convolution's dW)
    im2col(x, k, s, p)               the windows of a convolution as rows of X_col
    col2im(dX_col, x_shape, k, s, p) each window's gradient added back at its place
    pool_windows(x, k, s)            the kh·kw strided views of a pooling window's positions
    max_pool(x, k, s)                the largest value of each window
    max_pool_backward(x, y, dy, k, s) dy routed to the first maximum of each window
    relu(z)                          max(z, 0)
    relu_backward(grad, a)           grad ⊙ 1[a > 0]

With the numba engine (``engine.jit()``, see ``engine.py``) some of them, and the optimizers' and
the softmax cross-entropy's fused steps, run as compiled loops (``jit.py``); im2col, col2im and
max_pool_backward on spatial-major arrays too (``jit_conv.py``, through ``engine.conv_kernels()``).

May import: functional, errors (and numba, loaded by ``engine`` only when it is wanted).
"""
from .conv import col2im, im2col, sum_of_products
from .elementwise import relu, relu_backward
from .pool import max_pool, max_pool_backward, pool_windows
from .reduce import sum_rows

__all__ = ["col2im", "im2col", "max_pool", "max_pool_backward", "pool_windows", "relu", "relu_backward",
           "sum_of_products", "sum_rows"]
