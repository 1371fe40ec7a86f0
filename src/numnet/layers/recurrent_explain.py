"""What ``numnet explain`` shows of a recurrent layer (RNN, LSTM, GRU of ``layers.recurrent``): one
step's equations with the shapes of the arrays of the last pass, ‖h_t‖ per step and, after
backward, ‖∂L/∂h_t‖ per step (``dh_norms``): how the gradient shrinks going back in time."""
from __future__ import annotations

import numpy as np


class RecurrentExplain:
    """The explain half of :class:`numnet.layers.recurrent.Recurrent`; the cells set ``blocks``,
    ``gate_names``, ``step_lines`` and ``delta_lines``."""

    blocks = gate_names = ()   # (letter, nonlinearity) of the weights' blocks; of the gates of the plain form
    step_lines = ()           # the forward equations of one step past the gates: (equation, shapes)
    delta_lines = ()          # how BPTT forms δa_t, dL/d(pre-activation) of step t: (equation, shapes)

    def explain_lines(self, phase):
        T = len(self.x)
        if phase == "forward":
            gates = [(f"{g}_t = {f}(W_i{g}·x_t + b_i{g} + W_h{g}·h_{{{{t−1}}}} + b_h{g})",
                      f"{{W_i{g}}}·{{x_t}} + {{b_i{g}}} + {{W_h{g}}}·{{h_prev}} + {{b_h{g}}} → {{{g}_t}}")
                     for g, f in self.gate_names]
            out = ("{y} = [h_1 … h_T]", "{y}") if self.return_sequences else ("{y} = h_T", "{h_t} → {y}")
            return [(f"x_t = row t of {{x}}, t = 1 … T = {T} time steps; h_0 = 0; one step, shown at t = T",
                     "{x} → {x_t}"), *gates, *self.step_lines, out]
        return [("δh_t = ∂L/∂h_t: ∂L/∂{y} at t = T, then back through the steps", "{dy}"),
                *self.delta_lines,
                ("δh_{{t−1}} = W_hhᵀ·δa_t (+ what the layers above send to h_{{t−1}})", "{weight_hh}ᵀ·{dah_t} → {dh_prev}"),
                ("∂L/∂W_ih = Σ_t δa_t·x_tᵀ", "{da_t}·{x_t}ᵀ → {dweight_ih}"),
                ("∂L/∂W_hh = Σ_t δa_t·h_{{t−1}}ᵀ", "{dah_t}·{h_prev}ᵀ → {dweight_hh}"),
                ("∂L/∂b_ih = Σ_t δa_t", "{da_t} → {dbias_ih}"),
                ("∂L/∂b_hh = Σ_t δa_t", "{dah_t} → {dbias_hh}"),
                ("∂L/∂x_t = W_ihᵀ·δa_t", "{weight_ih}ᵀ·{da_t} → {dx_t}"),
                (f"∂L/∂{{x}} = [∂L/∂x_1 … ∂L/∂x_T], T = {T}", "{dx}")]

    def explain_arrays(self):
        """Step t = T of sample 0: x_t, h_{t−1}, h_t, each gate's weights, biases and value
        (LSTM: c_{t−1}, c_t too); after backward δa_t, δh_{t−1} and ∂L/∂x_t."""
        T, H = len(self.x), self.hidden_size
        out = {"x_t": self.x[T - 1, 0], "h_prev": self.h[T - 1, 0], "h_t": self.h[T, 0]}
        for j, (g, _) in enumerate(self.blocks):
            rows = slice(j * H, (j + 1) * H)
            out.update({f"W_i{g}": self.weight_ih[rows], f"W_h{g}": self.weight_hh[rows],
                        f"b_i{g}": self.bias_ih[rows], f"b_h{g}": self.bias_hh[rows]})
            out[f"{g}_t"] = self.gate[T - 1, 0, rows] if "gate" in self.__dict__ else self.h[T, 0]
        if "c" in self.__dict__:
            out.update(c_prev=self.c[T - 1, 0], c_t=self.c[T, 0])
        if "dA_x" in self.__dict__:
            da, dah = self.dA_x[T - 1, 0], self.dA_h[T - 1, 0]
            out.update(da_t=da, dah_t=dah, dh_prev=dah @ self.weight_hh, dx_t=da @ self.weight_ih,
                       dh_t=self.dH[T - 1, 0])           # at t = T, δh is what the layer above sends
            if "c" in self.__dict__:                     # δc_T = δh_T ⊙ o_T ⊙ (1 − tanh²c_T), as BPTT's first step
                o = out["o_t"]
                out["dc_t"] = out["dh_t"] * o * (1 - self.tanh_c[T - 1, 0] ** 2)
        return out

    def describe(self, x, y):
        """‖h_t‖ for every step t of sample 0."""
        return {"h_norms": [float(v) for v in np.linalg.norm(self.h[1:, 0], axis=-1)]}

    def describe_backward(self):
        """‖∂L/∂h_t‖ for every step t: how the gradient shrinks (or grows) going back in time."""
        if "dh_norms" not in self.__dict__:
            return {}
        norms = [float(v) for v in self.dh_norms]
        ratio = norms[0] / norms[-1] if norms[-1] else float("nan")
        return {"dh_norms": norms,
                "note": f"‖∂L/∂h_t‖, t = 1 … {len(norms)}: " + " ".join(f"{v:.2g}" for v in norms)
                        + f"   (‖∂L/∂h_1‖ / ‖∂L/∂h_T‖ = {ratio:.3g})"}
