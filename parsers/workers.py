"""Parsing fetched documents in worker processes: one recipe for the crawl and for
reparse (parsing is CPU-bound; the rest of either job is not).

A national crawl meets documents that crash their parser, exhaust its memory or never
end; such a document must cost itself only. Each worker runs under a memory limit
(RLIMIT_AS) and each job under a time limit (SIGALRM, whose default action ends the
process even inside C code). A worker that dies breaks its ProcessPoolExecutor, which
fails every job it held: the pool is replaced and those jobs are run again one at a
time, each in a process of its own, where a death names the guilty job and its cause
(the others get their results). Workers exit when the process that started them dies,
even by SIGKILL; the forkserver and the resource tracker, which live as long as any
worker does, then exit too.
"""
import fcntl
import multiprocessing
import multiprocessing.connection
import os
import resource
import signal
import threading
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from typing import NamedTuple
from urllib.parse import urlsplit

from . import _empty, parse


class Limits(NamedTuple):
    """What one parse may use; 0 is no limit. The crawl's are in crawler/settings.py."""

    memory_mb: int = 2048  # address space of a worker; the largest real reports: ~180 MB (benchmarks/parse_memory.py)
    timeout: float = 180.0  # seconds per document; real reports take under 1 s, DOC conversion up to 120 s


class ParseFailed(Exception):
    """A job that gave no result: its worker died (crash, memory or time limit) or it raised."""


# A worker's exit status after a job that raised MemoryError or reached (MEMORY_USED of)
# its memory limit: a MemoryError may also have been caught inside the parser and left a
# partial result or a half-imported module, so neither the result nor the worker is
# trusted.
MEMORY_EXIT = 75
MEMORY_USED = 0.9


def one_line(error: BaseException) -> str:
    return " ".join(f"{type(error).__name__}: {error}".split())[:500]


def _exit_with_parent() -> None:
    """Have the kernel end this process when its parent dies, even by SIGKILL, even
    inside C code: the parent holds the other end of this process's data pipe (its
    `sentinel`), whose closing then raises SIGIO here, and SIGIO's default action ends
    the process. (PR_SET_PDEATHSIG would name the forkserver, which outlives the parent
    as long as any worker does.)"""
    sentinel = multiprocessing.parent_process().sentinel
    signal.signal(signal.SIGIO, signal.SIG_DFL)
    fcntl.fcntl(sentinel, fcntl.F_SETOWN, os.getpid())
    fcntl.fcntl(sentinel, fcntl.F_SETFL, fcntl.fcntl(sentinel, fcntl.F_GETFL) | os.O_ASYNC)
    if multiprocessing.connection.wait([sentinel], 0):  # died before that was set
        os._exit(1)


def _start_worker(limits: Limits) -> None:
    """Set up a worker process: limits, signals, and an exit when its parent dies."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the crawl, which stops its workers
    signal.signal(signal.SIGALRM, signal.SIG_DFL)  # the time limit: SIGALRM ends the process
    if limits.memory_mb:
        hard = resource.getrlimit(resource.RLIMIT_AS)[1]
        soft = limits.memory_mb << 20
        resource.setrlimit(resource.RLIMIT_AS, (soft if hard == resource.RLIM_INFINITY else min(soft, hard), hard))
    _exit_with_parent()


def _peak_mb() -> int:
    """This process's peak address space (what RLIMIT_AS bounds); 0 where /proc is not."""
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) >> 10 for line in status if line.startswith("VmPeak:"))
    except (OSError, StopIteration):
        return 0


def _run(limits: Limits, fn, *args):
    """fn(*args) in a worker, within the time limit; the worker exits (MEMORY_EXIT)
    rather than answer after a job that reached its memory limit."""
    signal.setitimer(signal.ITIMER_REAL, limits.timeout)
    try:
        return fn(*args)
    except MemoryError:
        os._exit(MEMORY_EXIT)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        if limits.memory_mb and _peak_mb() >= limits.memory_mb * MEMORY_USED:
            os._exit(MEMORY_EXIT)


def _run_in_own_process(sender, limits: Limits, fn, args) -> None:
    _start_worker(limits)
    try:
        outcome = True, _run(limits, fn, *args)
    except Exception as error:
        outcome = False, one_line(error)
    sender.send(outcome)


def death(exitcode: int, limits: Limits) -> str:
    """Why a worker that gave no answer ended, from its exit status."""
    if exitcode == -signal.SIGALRM:
        return f"parse exceeded the time limit ({limits.timeout:g} s)"
    if exitcode == MEMORY_EXIT:
        return f"parse exceeded the memory limit ({limits.memory_mb} MB)"
    if exitcode < 0:
        return f"parse worker died of {signal.Signals(-exitcode).name}"
    return f"parse worker exited with status {exitcode}"


class WorkerPool:
    """Worker processes that start with the parser imported, in which a job that kills
    its worker costs that job only: submit() gives its result or ParseFailed."""

    def __init__(self, workers: int, limits: Limits = Limits()):
        self.context = multiprocessing.get_context("forkserver")
        self.context.set_forkserver_preload(["parsers"])
        self.workers = workers
        self.limits = limits
        self.lock = threading.Lock()
        self.executor = self._executor()
        self.again = ThreadPoolExecutor(1, thread_name_prefix="parse-again")  # one at a time

    def _executor(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(self.workers, mp_context=self.context, initializer=_start_worker,
                                   initargs=(self.limits,))

    def submit(self, fn, *args) -> Future:
        outcome: Future = Future()
        outcome.set_running_or_notify_cancel()  # it gets an answer: cancelling it (asyncio does) is refused
        with self.lock:
            executor = self.executor
            try:
                job = executor.submit(_run, self.limits, fn, *args)
            except BrokenProcessPool:
                job = None
        if job is None:  # broken by a job of an earlier submit, not yet replaced
            self._replace(executor)
            return self.submit(fn, *args)
        job.add_done_callback(partial(self._done, executor, outcome, fn, args))
        return outcome

    def _done(self, executor: ProcessPoolExecutor, outcome: Future, fn, args, job: Future) -> None:
        error = job.exception()
        if isinstance(error, BrokenProcessPool):
            self._replace(executor)
            self.again.submit(self._run_again, outcome, fn, args)
        elif error is not None:
            outcome.set_exception(ParseFailed(one_line(error)))
        else:
            outcome.set_result(job.result())

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        with self.lock:
            if self.executor is broken:
                self.executor = self._executor()
        broken.shutdown(wait=False)

    def _run_again(self, outcome: Future, fn, args) -> None:
        """Run a job of a broken pool in a process of its own: a death there is its own."""
        try:
            receiver, sender = self.context.Pipe(duplex=False)
            process = self.context.Process(target=_run_in_own_process, args=(sender, self.limits, fn, args),
                                           daemon=True)
            process.start()
            sender.close()
            with receiver:
                try:
                    answered, value = receiver.recv()
                except EOFError:
                    answered, value = False, None
            process.join()
            if answered:
                outcome.set_result(value)
            else:
                outcome.set_exception(ParseFailed(value or death(process.exitcode, self.limits)))
        except Exception as error:  # the process could not be started: still an answer
            outcome.set_exception(ParseFailed(one_line(error)))

    def shutdown(self) -> None:
        with self.lock:
            executor = self.executor
        executor.shutdown()
        self.again.shutdown()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.shutdown()


def parse_fetched(data: bytes, url: str, content_type: str = "") -> dict:
    """parse() of a fetched document, named by the last part of its URL's path (the
    kind of file is often only in the name: …/P0202….pdf)."""
    return parse(data, name=_name(url), content_type=content_type or "")


def parse_failed(url: str, reason: str) -> dict:
    """The parse contract's answer for a document whose parse gave none (its worker
    died, it ran out of memory or time), as parse() answers unreadable input."""
    return {**_empty(_name(url)), "error": reason}


def _name(url: str) -> str:
    return urlsplit(url).path.rsplit("/", 1)[-1]
