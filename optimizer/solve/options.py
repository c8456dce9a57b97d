"""The solver options a solve runs with, as one frozen object built once per solve."""

from __future__ import annotations

from dataclasses import dataclass

from models.portfolio import Settings


@dataclass(frozen=True)
class SolverOptions:
    """time_limit: seconds of solving; mip_gap: relative gap (bound - NPV) / |NPV| at which a
    plan counts as optimal; threads: HiGHS threads (0: HiGHS chooses); seed: HiGHS's random
    seed (and the searches' own)."""

    time_limit: float
    mip_gap: float
    threads: int = 0
    seed: int = 0

    @classmethod
    def from_settings(cls, settings: Settings, *, time_limit: float | None = None,
                      mip_gap: float | None = None, threads: int | None = None,
                      seed: int | None = None) -> SolverOptions:
        """The Portfolio's Settings (time_limit_s, mip_gap, threads, random_seed), each
        replaced by the caller's value when that is not None."""
        return cls(time_limit=float(settings.time_limit_s if time_limit is None else time_limit),
                   mip_gap=float(settings.mip_gap if mip_gap is None else mip_gap),
                   threads=int(settings.threads if threads is None else threads),
                   seed=int(settings.random_seed if seed is None else seed))

    def with_overrides(self, *, time_limit: float | None = None, mip_gap: float | None = None,
            threads: int | None = None, seed: int | None = None) -> SolverOptions:
        """A copy with the values given (not None) replaced."""
        if time_limit is None and mip_gap is None and threads is None and seed is None:
            return self
        return SolverOptions(
            time_limit=self.time_limit if time_limit is None else float(time_limit),
            mip_gap=self.mip_gap if mip_gap is None else float(mip_gap),
            threads=self.threads if threads is None else int(threads),
            seed=self.seed if seed is None else int(seed))
