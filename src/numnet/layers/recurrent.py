"""Recurrent layers: RNN (Elman), LSTM and GRU, as ``torch.nn.RNN/LSTM/GRU`` (one layer, batch_first).

Input x: (N, T, F), a batch of N sequences of T steps with F features each (an MNIST image is
read as T = 28 rows of F = 28 pixels). Output: the last hidden state h_T, (N, H), or with
``return_sequences`` every h_t, (N, T, H). The initial state is h_0 = 0 (and c_0 = 0).

Weights are named and laid out as PyTorch's, so they copy across in both directions:
``weight_ih`` (G·H, F), ``weight_hh`` (G·H, H), ``bias_ih`` (G·H,), ``bias_hh`` (G·H,), with the G
gates stacked in PyTorch's order (LSTM: i, f, g, o; GRU: r, z, n).

Inside, the sequence is time-major, (T, N, ·): step t is one contiguous (N, ·) block. The input
projection x_t·W_ihᵀ + b_ih of every step is one GEMM before the loop; the loop does only the
recurrent product h_{t−1}·W_hhᵀ. Backpropagation through time (BPTT) walks the steps backwards
and collects dL/d(pre-activation) of every step in one (T, N, G·H) array ``dA``; the weight
gradients are then single GEMMs over all steps:

    dW_ih = Σ_t dA_tᵀ·x_t       dW_hh = Σ_t dA_tᵀ·h_{t−1}      db = Σ_t Σ_n dA_t      dx_t = dA_t·W_ih

The NumPy rules (``_scan``, ``_bptt``) are the reference. Under the numba engine each step is one
GEMM and one compiled kernel of the same formulas (``_scan_fast``, ``_bptt_fast``, with
``kernels/jit_recurrent.py``), and evaluation keeps only the state of the last step.
``record_dh = True`` keeps ‖dL/dh_t‖ per step (``dh_norms``, (T,)) for the vanishing-gradient plot;
``recurrent_explain.py`` holds what ``numnet explain`` shows.
"""
from __future__ import annotations

import functools
import math

import numpy as np

from ..errors import ConfigError
from ..functional import whole
from ..kernels import engine
from .base import Layer
from .recurrent_explain import RecurrentExplain


def _sigmoid_(a):
    """σ(a) = (1 + tanh(a/2))/2, in place (no temporaries; tanh never overflows)."""
    a *= 0.5
    np.tanh(a, out=a)
    a *= 0.5
    a += 0.5
    return a


class Recurrent(RecurrentExplain, Layer):
    """What RNN, LSTM and GRU share: parameters, the input projection, the output selection and
    the weight gradients; subclasses write the steps (``_scan``) and BPTT (``_bptt``) as NumPy
    rules, and the same with the compiled kernels of ``kernels/jit_recurrent.py`` (``_scan_fast``,
    ``_bptt_fast``: one GEMM and one kernel call per step), which the numba engine runs."""

    param_names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    gates = 1               # G: blocks of H rows in the weights
    record_dh = False

    def __init__(self, input_size: int, hidden_size: int, return_sequences: bool = False,
                 dtype=np.float32, seed: int = 0):
        self.input_size, self.hidden_size = whole(input_size, "input_size"), whole(hidden_size, "hidden_size")
        self.return_sequences = bool(return_sequences)
        self.dtype, self.seed = np.dtype(dtype), seed

    def array_shapes(self):
        """W_ih (G·H, F), W_hh (G·H, H), b_ih and b_hh (G·H,)."""
        G = self.gates * self.hidden_size
        return {"weight_ih": (G, self.input_size), "weight_hh": (G, self.hidden_size), "bias_ih": (G,),
                "bias_hh": (G,)}

    def init_params(self, rng):
        """PyTorch's initialisation: every weight and bias ~ U(−1/√H, 1/√H)."""
        k = 1 / np.sqrt(self.hidden_size)
        for n in self.param_names:
            p = getattr(self, n)
            p[...] = rng.uniform(-k, k, p.shape)

    def values_per_sample(self, input_shape, output_shape):
        """The output or the gates' activations of every step, T·G·H."""
        return max(math.prod(output_shape), input_shape[0] * self.gates * self.hidden_size)

    def output_shape(self, input_shape):
        if len(input_shape) != 2 or input_shape[1] != self.input_size:
            raise ConfigError(f"{type(self).__name__} expects samples of shape (T, {self.input_size}), "
                              f"got {tuple(input_shape)}")
        T = input_shape[0]
        return (T, self.hidden_size) if self.return_sequences else (self.hidden_size,)

    def config(self):
        return {"type": type(self).__name__, "input_size": self.input_size, "hidden_size": self.hidden_size,
                "return_sequences": self.return_sequences}

    # forward ------------------------------------------------------------------------------
    #: in evaluation, sequences go through in chunks of this many (10,000 at once would take hundreds
    #: of MB; 1024 ran 1.2-2.5x faster than 256 on 2 cores, both engines: larger GEMMs per step)
    eval_chunk = 1024

    def forward(self, x):
        if x.ndim != 3 or x.shape[2] != self.input_size:
            raise ConfigError(f"{type(self).__name__} expects input (N, T, {self.input_size}), got {x.shape}")
        if not self.training and len(x) > self.eval_chunk:
            return np.concatenate([self._forward(x[i:i + self.eval_chunk])
                                   for i in range(0, len(x), self.eval_chunk)])
        return self._forward(x)

    def _forward(self, x):
        self.x = np.ascontiguousarray(x.transpose(1, 0, 2), dtype=self.weight_ih.dtype)     # (T, N, F)
        T, N, _ = self.x.shape
        A = (self.x.reshape(T * N, -1) @ self.weight_ih.T).reshape(T, N, -1)  # x_t·W_ihᵀ, all t at once
        kernels = engine.compiled("recurrent")
        self.kept = self.training or self.explaining or kernels is None       # what backward needs
        if kernels is None:
            A += self.bias_ih
            self.h = self._scan(A)                                            # (T+1, N, H), h[0] = 0
        else:                     # the biases added in the kernels; in evaluation h, c of the last step only
            self.h = self._scan_fast(kernels, A)
        if self.return_sequences:
            return self.h[1:].transpose(1, 0, 2)                              # (N, T, H)
        return self.h[T % len(self.h)]                                        # (N, H)

    def _steps(self, T, N, width, least=1, keep=False):
        """One per-step array of the compiled scan, zeros: (T, N, width) where BPTT (``self.kept``) or the
        output (``keep``) needs every step, else (least, N, width), step t's block being ``a[t % len(a)]``.
        States alternate between two blocks: a kernel over overlapping in- and outputs runs 5x slower."""
        return np.zeros((T if self.kept or keep else least, N, width), dtype=self.weight_ih.dtype)

    # backward -----------------------------------------------------------------------------
    def backward(self, grad):
        if not self.kept:
            raise ConfigError(f"{type(self).__name__}.backward needs a forward pass in training mode")
        T, N, _ = self.x.shape
        H = self.hidden_size
        dH = np.zeros((T, N, H), dtype=self.h.dtype)        # dL/dh_t from the layers above only
        if self.return_sequences:
            dH[...] = grad.transpose(1, 0, 2)
        else:
            dH[T - 1] = grad
        kernels = engine.compiled("recurrent")
        dA_x, dA_h = self._bptt(dH) if kernels is None else self._bptt_fast(kernels, dH)   # (T, N, G·H) each
        if self.explaining:
            self.dH, self.dA_x, self.dA_h = dH, dA_x, dA_h
        G = self.gates * H
        dA_x2, dA_h2 = dA_x.reshape(T * N, G), dA_h.reshape(T * N, G)
        np.matmul(dA_x2.T, self.x.reshape(T * N, -1), out=self.dweight_ih)
        np.matmul(dA_h2.T, self.h[:T].reshape(T * N, H), out=self.dweight_hh)
        dA_x2.sum(axis=0, out=self.dbias_ih)
        self.dbias_hh[...] = self.dbias_ih if dA_h is dA_x else dA_h2.sum(axis=0)     # RNN, LSTM: dA_h is dA_x
        if not self.input_grad:
            return None
        return (dA_x2 @ self.weight_ih).reshape(T, N, -1).transpose(1, 0, 2)   # (N, T, F)

    def _record(self, t, *dh):
        """dh_norms[t] = ‖δh‖, δh given whole or, from the compiled BPTT, as the terms the kernel adds."""
        if self.record_dh or self.explaining:
            if t == len(self.x) - 1:
                self.dh_norms = np.zeros(len(self.x))
            self.dh_norms[t] = np.linalg.norm(functools.reduce(np.add, dh))

    def _scan(self, A):
        raise NotImplementedError

    def _bptt(self, dH):
        raise NotImplementedError


class RNN(Recurrent):
    """Elman RNN, as ``nn.RNN(nonlinearity='tanh')``:

    h_t = tanh(x_t·W_ihᵀ + b_ih + h_{t−1}·W_hhᵀ + b_hh)          W_ih (H, F), W_hh (H, H)

    BPTT, for t = T … 1, with δh the total dL/dh_t (from above and from step t+1):
        δh  = dL/dh_t(above) + δa_{t+1}·W_hh
        δa_t = δh ⊙ (1 − h_t²)                    (dL/d pre-activation)
    The factor W_hhᵀ·diag(1 − h²) is applied once per step back: ‖δh‖ shrinks (or grows)
    geometrically with the distance, the vanishing-gradient problem.
    """

    blocks = gate_names = (("h", "tanh"),)
    delta_lines = (("δa_t = δh_t ⊙ (1 − h_t²)", "{dh_t} ⊙ {h_t} → {da_t}"),)

    def _scan(self, A):
        A += self.bias_hh
        T, N, H = A.shape
        h = np.zeros((T + 1, N, H), dtype=A.dtype)
        for t in range(T):
            a = np.matmul(h[t], self.weight_hh.T, out=h[t + 1])
            a += A[t]
            np.tanh(a, out=h[t + 1])
        return h

    def _scan_fast(self, K, A):
        T, N, H = A.shape
        h, g = self._steps(T + 1, N, H, keep=self.return_sequences), np.empty((N, H), dtype=A.dtype)
        for t in range(T):
            np.matmul(h[t % len(h)], self.weight_hh.T, out=g)
            K.rnn_step(g, A[t], self.bias_ih, self.bias_hh, h[(t + 1) % len(h)])
        return h

    def _bptt(self, dH):
        T = len(dH)
        dA = np.empty_like(dH)
        dh = np.zeros_like(dH[0])
        for t in reversed(range(T)):
            dh += dH[t]                                       # δh = dL/dh_t, total
            self._record(t, dh)
            h = self.h[t + 1]
            np.multiply(dh, 1 - h * h, out=dA[t])             # δa_t = δh ⊙ (1 − h_t²)
            dh = dA[t] @ self.weight_hh                       # dL/dh_{t−1} through the recurrence
        return dA, dA

    def _bptt_fast(self, K, dH):
        T = len(dH)
        dA, g = np.empty_like(dH), np.zeros_like(dH[0])      # g: δa_{t+1}·W_hh
        for t in reversed(range(T)):
            self._record(t, g, dH[t])
            K.rnn_delta(g, dH[t], self.h[t + 1], dA[t])
            if t:
                np.matmul(dA[t], self.weight_hh, out=g)
        return dA, dA


class LSTM(Recurrent):
    """Long short-term memory, as ``nn.LSTM``; gates stacked i, f, g, o:

    [a_i, a_f, a_g, a_o] = x_t·W_ihᵀ + b_ih + h_{t−1}·W_hhᵀ + b_hh       (N, 4H)
    i = σ(a_i)   f = σ(a_f)   g = tanh(a_g)   o = σ(a_o)
    c_t = f ⊙ c_{t−1} + i ⊙ g           h_t = o ⊙ tanh(c_t)

    BPTT, for t = T … 1 (δh, δc: total dL/dh_t, dL/dc_t):
        δh = dL/dh_t(above) + δa_{t+1}·W_hh
        δo = δh ⊙ tanh(c_t)                δc = δc_{t+1}·f_{t+1} + δh ⊙ o ⊙ (1 − tanh²(c_t))
        δi = δc ⊙ g    δf = δc ⊙ c_{t−1}    δg = δc ⊙ i
        δa = [δi·i(1−i), δf·f(1−f), δg·(1−g²), δo·o(1−o)]
    The cell path c_{t−1} → c_t multiplies δc by f only (no W_hh, no squashing): gradients
    survive many steps when the forget gate stays open.
    """

    gates = 4
    blocks = gate_names = (("i", "σ"), ("f", "σ"), ("g", "tanh"), ("o", "σ"))
    step_lines = (("c_t = f_t ⊙ c_{{t−1}} + i_t ⊙ g_t   (c_0 = 0)", "{f_t} ⊙ {c_prev} + {i_t} ⊙ {g_t} → {c_t}"),
                  ("h_t = o_t ⊙ tanh(c_t)", "{o_t} ⊙ {c_t} → {h_t}"))
    delta_lines = (("δc_t = δh_t ⊙ o_t ⊙ (1 − tanh²c_t) + δc_{{t+1}} ⊙ f_{{t+1}}", "{dh_t} ⊙ {o_t} ⊙ {c_t} → {dc_t}"),
                   (("δa_t = [δc_t ⊙ g_t ⊙ i_t(1 − i_t), δc_t ⊙ c_{{t−1}} ⊙ f_t(1 − f_t), δc_t ⊙ i_t ⊙ (1 − g_t²), "
                     "δh_t ⊙ tanh(c_t) ⊙ o_t(1 − o_t)]"), "[{i_t}, {f_t}, {g_t}, {o_t}] → {da_t}"))

    def _scan(self, A):
        A += self.bias_hh
        T, N, G = A.shape
        H = G // 4
        h = np.zeros((T + 1, N, H), dtype=A.dtype)
        self.c = np.zeros((T + 1, N, H), dtype=A.dtype)
        self.tanh_c = np.empty((T, N, H), dtype=A.dtype)
        self.gate = np.empty((T, N, G), dtype=A.dtype)       # i, f, g, o after their nonlinearities
        for t in range(T):
            a = self.gate[t]
            np.matmul(h[t], self.weight_hh.T, out=a)
            a += A[t]
            _sigmoid_(a[:, :2 * H])
            np.tanh(a[:, 2 * H:3 * H], out=a[:, 2 * H:3 * H])
            _sigmoid_(a[:, 3 * H:])
            i, f, g, o = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
            c = self.c[t + 1]
            np.multiply(f, self.c[t], out=c)                 # c_t = f ⊙ c_{t−1} + i ⊙ g
            c += i * g
            np.tanh(c, out=self.tanh_c[t])
            np.multiply(o, self.tanh_c[t], out=h[t + 1])     # h_t = o ⊙ tanh(c_t)
        return h

    def _scan_fast(self, K, A):
        (T, N, G), H = A.shape, self.hidden_size
        h, g = self._steps(T + 1, N, H, keep=self.return_sequences), np.empty((N, G), dtype=A.dtype)
        c, tanh_c, gate = self._steps(T + 1, N, H, 2), self._steps(T, N, H), self._steps(T, N, G)
        self.c, self.tanh_c, self.gate = c, tanh_c, gate
        for t in range(T):
            np.matmul(h[t % len(h)], self.weight_hh.T, out=g)
            K.lstm_step(g, A[t], self.bias_ih, self.bias_hh, c[t % len(c)], gate[t % len(gate)],
                        c[(t + 1) % len(c)], tanh_c[t % len(tanh_c)], h[(t + 1) % len(h)])
        return h

    def _bptt(self, dH):
        T, N, H = dH.shape
        dA = np.empty((T, N, 4 * H), dtype=dH.dtype)
        dh = np.zeros((N, H), dtype=dH.dtype)
        dc = np.zeros((N, H), dtype=dH.dtype)
        for t in reversed(range(T)):
            dh += dH[t]
            self._record(t, dh)
            gt = self.gate[t]
            i, f, g, o = gt[:, :H], gt[:, H:2 * H], gt[:, 2 * H:3 * H], gt[:, 3 * H:]
            tc = self.tanh_c[t]
            dc += dh * o * (1 - tc * tc)                      # δc = δc_{t+1}·f_{t+1} + δh ⊙ o ⊙ (1 − tanh²c_t)
            da = dA[t]
            np.multiply(dc * g, i * (1 - i), out=da[:, :H])                 # δa_i = δc ⊙ g ⊙ i(1 − i)
            np.multiply(dc * self.c[t], f * (1 - f), out=da[:, H:2 * H])    # δa_f = δc ⊙ c_{t−1} ⊙ f(1 − f)
            np.multiply(dc * i, 1 - g * g, out=da[:, 2 * H:3 * H])          # δa_g = δc ⊙ i ⊙ (1 − g²)
            np.multiply(dh * tc, o * (1 - o), out=da[:, 3 * H:])            # δa_o = δh ⊙ tanh(c_t) ⊙ o(1 − o)
            dc *= f                                           # the part of δc that reaches c_{t−1}
            dh = da @ self.weight_hh                          # dL/dh_{t−1} through the gates
        return dA, dA

    def _bptt_fast(self, K, dH):
        T, N, H = dH.shape
        dA = np.empty((T, N, 4 * H), dtype=dH.dtype)
        g, dc = np.zeros((N, H), dtype=dH.dtype), np.zeros((N, H), dtype=dH.dtype)
        for t in reversed(range(T)):
            self._record(t, g, dH[t])
            K.lstm_delta(g, dH[t], dc, self.gate[t], self.tanh_c[t], self.c[t], dA[t])
            if t:
                np.matmul(dA[t], self.weight_hh, out=g)
        return dA, dA


class GRU(Recurrent):
    """Gated recurrent unit, as ``nn.GRU``; gates stacked r, z, n:

    r = σ(x_t·W_irᵀ + b_ir + h_{t−1}·W_hrᵀ + b_hr)
    z = σ(x_t·W_izᵀ + b_iz + h_{t−1}·W_hzᵀ + b_hz)
    n = tanh(x_t·W_inᵀ + b_in + r ⊙ (h_{t−1}·W_hnᵀ + b_hn))
    h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}

    BPTT, for t = T … 1, with m = h_{t−1}·W_hnᵀ + b_hn and δh the total dL/dh_t:
        δn = δh ⊙ (1 − z)    δz = δh ⊙ (h_{t−1} − n)    δa_n = δn ⊙ (1 − n²)
        δr = δa_n ⊙ m        δa_r = δr ⊙ r(1 − r)       δa_z = δz ⊙ z(1 − z)
    input side  (W_ih, b_ih, x):  [δa_r, δa_z, δa_n]
    hidden side (W_hh, b_hh, h):  [δa_r, δa_z, δa_n ⊙ r]
        dL/dh_{t−1} = δh ⊙ z + [δa_r, δa_z, δa_n ⊙ r]·W_hh
    """

    gates = 3
    blocks = (("r", "σ"), ("z", "σ"), ("n", "tanh"))
    gate_names = blocks[:2]
    step_lines = (("n_t = tanh(W_in·x_t + b_in + r_t ⊙ (W_hn·h_{{t−1}} + b_hn))",
                   "{W_in}·{x_t} + {b_in} + {r_t} ⊙ ({W_hn}·{h_prev} + {b_hn}) → {n_t}"),
                  ("h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{{t−1}}", "{z_t} ⊙ {n_t} + {z_t} ⊙ {h_prev} → {h_t}"))
    delta_lines = ((("δa_t = [δa_r, δa_z, δa_n]: δa_n = δh_t ⊙ (1 − z_t) ⊙ (1 − n_t²), "
                     "δa_z = δh_t ⊙ (h_{{t−1}} − n_t) ⊙ z_t(1 − z_t), δa_r = δa_n ⊙ (W_hn·h_{{t−1}} + b_hn) ⊙ r_t(1 − r_t)"),
                    "[{r_t}, {z_t}, {n_t}] → {da_t}"),
                   ("hidden side (W_hh, b_hh): [δa_r, δa_z, δa_n ⊙ r_t]; δh_{{t−1}} adds δh_t ⊙ z_t", "{dah_t}"))

    def _scan(self, A):
        T, N, G = A.shape
        H = G // 3
        A[:, :, :2 * H] += self.bias_hh[:2 * H]             # b_hr, b_hz add to the input side; b_hn sits inside r ⊙ (·)
        h = np.zeros((T + 1, N, H), dtype=A.dtype)
        self.gate = np.empty((T, N, G), dtype=A.dtype)       # r, z, n
        self.m = np.empty((T, N, H), dtype=A.dtype)          # h_{t−1}·W_hnᵀ + b_hn
        for t in range(T):
            ah = h[t] @ self.weight_hh.T
            gt = self.gate[t]
            np.add(A[t, :, :2 * H], ah[:, :2 * H], out=gt[:, :2 * H])
            _sigmoid_(gt[:, :2 * H])
            r, z, n = gt[:, :H], gt[:, H:2 * H], gt[:, 2 * H:]
            np.add(ah[:, 2 * H:], self.bias_hh[2 * H:], out=self.m[t])
            np.multiply(r, self.m[t], out=n)
            n += A[t, :, 2 * H:]
            np.tanh(n, out=n)
            # h_t = (1 − z) ⊙ n + z ⊙ h_{t−1} = n + z ⊙ (h_{t−1} − n)
            np.subtract(h[t], n, out=h[t + 1])
            h[t + 1] *= z
            h[t + 1] += n
        return h

    def _scan_fast(self, K, A):
        (T, N, G), H = A.shape, self.hidden_size
        h, g = self._steps(T + 1, N, H, 2, self.return_sequences), np.empty((N, G), dtype=A.dtype)
        self.gate, self.m = gate, m = self._steps(T, N, G), self._steps(T, N, H)
        for t in range(T):
            np.matmul(h[t % len(h)], self.weight_hh.T, out=g)
            K.gru_step(g, A[t], self.bias_ih, self.bias_hh, h[t % len(h)], gate[t % len(gate)], m[t % len(m)],
                       h[(t + 1) % len(h)])
        return h

    def _bptt(self, dH):
        T, N, H = dH.shape
        dA_x = np.empty((T, N, 3 * H), dtype=dH.dtype)
        dA_h = np.empty((T, N, 3 * H), dtype=dH.dtype)
        dh = np.zeros((N, H), dtype=dH.dtype)
        for t in reversed(range(T)):
            dh += dH[t]
            self._record(t, dh)
            gt = self.gate[t]
            r, z, n = gt[:, :H], gt[:, H:2 * H], gt[:, 2 * H:]
            dan = dA_x[t, :, 2 * H:]
            np.multiply(dh * (1 - z), 1 - n * n, out=dan)                        # δa_n
            np.multiply(dan * self.m[t], r * (1 - r), out=dA_x[t, :, :H])        # δa_r
            np.multiply(dh * (self.h[t] - n), z * (1 - z), out=dA_x[t, :, H:2 * H])  # δa_z
            dA_h[t, :, :2 * H] = dA_x[t, :, :2 * H]
            np.multiply(dan, r, out=dA_h[t, :, 2 * H:])
            dh = dh * z + dA_h[t] @ self.weight_hh             # dL/dh_{t−1}
        return dA_x, dA_h

    def _bptt_fast(self, K, dH):
        T, N, H = dH.shape
        dA_x, dA_h = np.empty((T, N, 3 * H), dtype=dH.dtype), np.empty((T, N, 3 * H), dtype=dH.dtype)
        dhz, g = np.zeros((N, H), dtype=dH.dtype), np.zeros((N, H), dtype=dH.dtype)   # δh_{t+1} ⊙ z, δa^h_{t+1}·W_hh
        for t in reversed(range(T)):
            self._record(t, dhz, g, dH[t])
            K.gru_delta(dhz, g, dH[t], self.gate[t], self.m[t], self.h[t], dA_x[t], dA_h[t])
            if t:
                np.matmul(dA_h[t], self.weight_hh, out=g)
        return dA_x, dA_h
