"""Progress on stderr: a tqdm bar on a terminal, a plain line every few seconds elsewhere (CI logs)."""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO


class Progress:
    """``update(done, total, stage)`` as work goes on; ``close()`` at the end.

    ``enabled=None`` shows progress when stderr is a terminal (a tqdm bar) and, otherwise, a line
    every ``interval`` seconds once the work has lasted that long (short work stays silent);
    ``False`` shows nothing.
    """

    def __init__(
        self,
        label: str,
        *,
        enabled: bool | None = None,
        unit: str = "records",
        stream: TextIO | None = None,
        interval: float = 5.0,
    ):
        self.label = label
        self.unit = unit
        self.stream = stream or sys.stderr
        self.enabled = enabled is not False
        self.interval = interval
        self._bar: Any = None
        self._stage: str | None = None
        self._started = time.monotonic()
        self._last_line = 0.0
        self._tty = enabled is not False and hasattr(self.stream, "isatty") and self.stream.isatty()

    def update(self, done: int | None, total: int | None = None, stage: str = "") -> None:
        if not self.enabled:
            return
        if self._tty:
            self._update_bar(done, total, stage)
            return
        now = time.monotonic()
        if self._last_line == 0.0:
            self._last_line = self._started
        if now - self._last_line >= self.interval:
            self._last_line = now
            of = f"/{total:,}" if total else ""
            count = f" {done:,}{of} {self.unit}" if done is not None else ""
            where = f" {stage}" if stage else ""
            self.stream.write(f"{self.label}:{where}{count} ({now - self._started:.0f}s)\n")
            self.stream.flush()

    def _update_bar(self, done: int | None, total: int | None, stage: str) -> None:
        from tqdm import tqdm  # type: ignore[import-untyped]

        if self._bar is None or stage != self._stage:
            if self._bar is not None:
                self._bar.close()
            self._stage = stage
            desc = f"{self.label} {stage}".strip()
            self._bar = tqdm(
                total=total or None, desc=desc, unit=f" {self.unit}", file=self.stream, leave=False
            )
        if total and self._bar.total != total:
            self._bar.total = total
        if done is not None:
            self._bar.n = done
        self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
