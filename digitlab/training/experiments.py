"""The course report's four experiments (or another set of four settings, such as the regularisers
experiment, ``presets.EXPERIMENT_SETS``), run with its protocol over one or more seeds.

Runs are independent, so with ``workers > 1`` they go to separate processes (NumPy holds the GIL
for these small matrices, so threads would not help). Each process loads the bundled data itself.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass

from ..process import worker_process_setup
from .config import TrainConfig
from .presets import EXPERIMENTS
from .trainer import RunControl, TrainResult, train


class _Pool(ProcessPoolExecutor):
    """A process pool that, left by an exception (Ctrl+C in the parent), ends its runs at once: it
    drops those not yet started and stops the workers, instead of training every run first."""

    def __exit__(self, exc_type, exc_val, exc_tb):
        if exc_type is not None:
            # Python 3.14 names this terminate_workers(); before it, the pool's own table of them
            # (taken first: shutdown empties it)
            workers = list((getattr(self, "_processes", None) or {}).values())
            self.shutdown(wait=False, cancel_futures=True)
            for process in workers:
                process.terminate()
        self.shutdown(wait=True)
        return False


def process_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of fresh ("spawn") processes with one BLAS thread each.

    Spawned, not forked: forking a process that runs Qt or other threads can deadlock the child.
    Each worker is an entry point of its own: :func:`digitlab.process.worker_process_setup` runs
    in it before the first job loads NumPy.
    """
    return _Pool(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                 initializer=worker_process_setup)


@dataclass
class ExperimentRun:
    """One configuration of the grid trained with one seed."""

    index: int              # 0..3, the report's experiment number minus one (the place in its set)
    label: str
    seed: int
    result: TrainResult


def experiment_jobs(seeds, experiments=None):
    """``[(index, label, config)]`` for every experiment and seed, in the report's order."""
    experiments = experiments or EXPERIMENTS
    return [(i, label, config.replace(seed=int(seed)))
            for seed in seeds for i, (label, config) in enumerate(experiments)]


def _run_in_process(index, label, config: TrainConfig, split_seed):
    from .splits import splits_for
    return index, label, config.seed, train(config, splits_for(config, split_seed=split_seed))


def run_experiments(splits, seeds=(3,), *, experiments=None, workers: int = 1,
                    control: RunControl | None = None,
                    on_start=None, on_check=None, on_done=None, split_seed: int = 0):
    """Train every experiment for every seed; return the runs in the report's order.

    Parameters
    ----------
    splits : Splits
        Used directly when ``workers == 1``; worker processes rebuild the same splits from each
        configuration's dataset and ``split_seed`` (see :func:`digitlab.training.splits_for`).
    seeds : iterable of int
    workers : int
        Processes to use; 1 trains in this thread (what the GUI's worker thread does so that it
        can show every curve live through ``on_check``).
    control : RunControl, optional
        Cancel (in-process runs also pause) from another thread; the runs finished so far are kept.
    on_start(index, label, seed), on_check(index, seed, check), on_done(run) : optional callbacks.
    """
    jobs = experiment_jobs(seeds, experiments)
    runs: list[ExperimentRun] = []
    control = control or RunControl()
    if workers <= 1:
        for index, label, config in jobs:
            if control.cancelled:
                break
            if on_start:
                on_start(index, label, config.seed)
            check_cb = (lambda c, i=index, s=config.seed: on_check(i, s, c)) if on_check else None
            result = train(config, splits, control=control, on_check=check_cb)
            run = ExperimentRun(index, label, config.seed, result)
            runs.append(run)
            if on_done:
                on_done(run)
    else:
        with process_pool(workers) as pool:
            futures = [pool.submit(_run_in_process, i, label, config, split_seed)
                       for i, label, config in jobs]
            for future in as_completed(futures):
                index, label, seed, result = future.result()
                run = ExperimentRun(index, label, seed, result)
                runs.append(run)
                if on_done:
                    on_done(run)
                if control.cancelled:
                    for f in futures:
                        f.cancel()
                    break
    order = {(i, cfg.seed): k for k, (i, _, cfg) in enumerate(jobs)}
    runs.sort(key=lambda r: order[(r.index, r.seed)])
    return runs
