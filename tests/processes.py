"""Stress tests' processes: several at once, each counting its own failures."""

import multiprocessing


def side_by_side(target, args: list[tuple], timeout: float = 300) -> tuple[list[int | None], list[str]]:
    """Run ``target(*a, errors)`` for each ``a`` of ``args``, each in a spawned process of its
    own, all at once; returns their exit codes and the failures they put on ``errors``."""
    context = multiprocessing.get_context("spawn")
    errors = context.Queue()
    workers = [context.Process(target=target, args=(*a, errors)) for a in args]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=timeout)
    found = []
    while not errors.empty():
        found.append(errors.get())
    return [w.exitcode for w in workers], found
