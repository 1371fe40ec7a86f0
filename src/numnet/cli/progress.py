"""A progress bar per epoch (samples/s, running loss) on stderr, drawn with rich.

Shown only when stderr is a terminal and --json is not given.
"""
from __future__ import annotations

import time


class EpochBar:
    """Callable for ``Sequential.fit(progress=...)``: renders 'batch' events as a bar."""

    def __init__(self, enabled: bool, epochs: int, on_epoch=None, label="epoch"):
        self.enabled, self.epochs, self.on_epoch, self.label = enabled, epochs, on_epoch, label
        self.bar = self.task = None
        self.epoch_start = None

    def __call__(self, event, **info):
        if event == "batch":
            self._batch(**info)
        elif event == "epoch":
            self._close()
            if self.on_epoch is not None:
                self.on_epoch(info)

    def _batch(self, epoch, seen, total, loss, **_):
        if not self.enabled:
            return
        if self.bar is None:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self.bar = Progress(TextColumn(f"{self.label} {{task.fields[epoch]}}/{self.epochs}"), BarColumn(),
                                MofNCompleteColumn(), TextColumn("{task.fields[speed]:>8.0f} samples/s"),
                                TextColumn("loss {task.fields[loss]:.4f}"), TimeRemainingColumn(),
                                console=Console(stderr=True), transient=True)
            self.bar.start()
            self.task = self.bar.add_task("", total=total, epoch=epoch, speed=0.0, loss=loss)
            self.epoch_start = time.perf_counter()
        speed = seen / max(time.perf_counter() - self.epoch_start, 1e-9)
        self.bar.update(self.task, completed=seen, epoch=epoch, speed=speed, loss=loss)

    def _close(self):
        if self.bar is not None:
            self.bar.stop()
            self.bar = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._close()
