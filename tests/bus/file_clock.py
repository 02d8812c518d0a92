"""A clock a test moves from outside the process: the milliseconds written in a file
(picklable, so ``serve --workers`` processes started by spawn read the same one)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["FileClock"]


@dataclass(frozen=True)
class FileClock:
    path: Path

    advanced_ms = 0  # requests are stamped from this clock, not the machine's

    def now_ms(self) -> int:
        return int(self.path.read_text())

    def set(self, now_ms: int) -> None:
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(str(now_ms))
        temporary.replace(self.path)  # whole, never half-written
