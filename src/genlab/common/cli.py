"""Shared plumbing of the stage entry points: one-line errors, progress lines, the device."""

from __future__ import annotations

import functools
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer

from genlab.common.errors import GenlabError

if TYPE_CHECKING:
    import torch

# torch is imported where it is used, so that stages which need no tensors start quickly.


def run_stage(main: Callable[..., Any]) -> None:
    """Run a stage function as a typer CLI; a GenlabError becomes one line on stderr and exit 2."""

    @functools.wraps(main)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            claim_threads()
            with take_turns():
                return main(*args, **kwargs)
        except GenlabError as exc:
            print(f"error: {exc}", file=sys.stderr)
            raise typer.Exit(code=2) from None
        except KeyboardInterrupt:
            print("error: interrupted; no output was replaced", file=sys.stderr)
            raise typer.Exit(code=130) from None

    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command()(wrapper)
    try:
        app()
    except SystemExit as end:
        exit_now(end.code)


def exit_now(code: object) -> NoReturn:
    """End the process with `code`, skipping the interpreter's teardown.

    Once torch is loaded, Python's teardown takes about 0.6 s (it frees every object torch
    made) and does nothing a stage needs: every output has been written through a closed
    file by then, and no stage relies on exit handlers. Unhandled errors never come here;
    they end with a traceback as usual.
    """
    if code is None:
        code = 0
    elif not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


class Progress:
    """Prints `label: i/n (pct) elapsed, ETA` to stderr at most every `every` seconds."""

    def __init__(self, label: str, total: int, every: float = 2.0) -> None:
        self.label, self.total, self.every = label, total, every
        self.start = self.last = time.perf_counter()

    def __call__(self, i: int, note: str = "") -> None:
        now = time.perf_counter()
        if now - self.last < self.every and i < self.total:
            return
        self.last = now
        elapsed = now - self.start
        eta = elapsed / max(i, 1) * (self.total - i)
        extra = f" {note}" if note else ""
        print(
            f"{self.label}: {i}/{self.total} ({100 * i / self.total:.0f}%) "
            f"{elapsed:.1f}s elapsed, ETA {eta:.1f}s{extra}",
            file=sys.stderr,
            flush=True,
        )


def resolve_device(name: str, key: str) -> torch.device:
    """auto -> cuda when present, else cpu; `key` names the param in the error."""
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise GenlabError(f"params: {key} = 'cuda' but no CUDA device is present; use auto or cpu")
    return torch.device(name)


def cpu_capability() -> str:
    """The vector instruction set torch dispatches to on this CPU (AVX2, AVX512, ...)."""
    import torch

    return torch.backends.cpu.get_cpu_capability()


def native_bfloat16(device: torch.device) -> bool:
    """Whether the device computes bfloat16 natively (AVX512-BF16 or AMX on a CPU).

    Without it, bfloat16 autocast on a CPU is emulated and many times slower than float32.
    """
    import torch

    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if "AVX512" not in cpu_capability():  # torch dispatches to kernels without bfloat16
        return False
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(torch.cpu, name, lambda: False)() for name in checks)


def claim_threads() -> int:
    """Give torch the cores this process may use (its CPU affinity) and return their number.

    The number never depends on what else runs: torch's results change in the last bits
    with the thread count (a GPT trained with 1 and with 2 threads gets different weights),
    so sharing the cores out between concurrent stages would make the same params give
    different outputs. GENLAB_THREADS sets the number directly.
    """
    wanted = os.environ.get("GENLAB_THREADS", "")
    if wanted:
        if not wanted.isdigit() or int(wanted) < 1:
            raise GenlabError(f"GENLAB_THREADS = {wanted!r} is invalid: expected an integer >= 1")
        threads = int(wanted)
    else:
        threads = usable_cores()
    os.environ["OMP_NUM_THREADS"] = str(threads)  # for any process this one starts
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)
    return threads


def usable_cores() -> int:
    """The cores this process may run on: its CPU affinity where the system has one."""
    affinity = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    return max(1, len(affinity) if affinity else (os.cpu_count() or 1))


@contextmanager
def take_turns() -> Iterator[None]:
    """Hold the machine's cores while a torch stage runs: concurrent stages take turns.

    Every stage uses all the cores it may (see `claim_threads`), so two at once, say from
    two `dvc queue` workers, would oversubscribe them. Sharing the cores out instead would
    change the results' bits with the thread count. So a stage that has imported torch
    holds an exclusive lock on a file in the temp folder while it computes, and waits for
    it if another stage holds it. Stages without torch, processes started by torchrun
    under a stage that holds the lock, and runs with GENLAB_THREADS set (which then
    manage the cores themselves) go ahead at once. The system frees the lock when the
    process ends, however it ends.
    """
    if "torch" not in sys.modules or os.environ.get("GENLAB_THREADS") or _world_size() > 1:
        yield
        return
    try:
        import fcntl

        fd = os.open(
            Path(tempfile.gettempdir()) / "genlab-cores.lock", os.O_CREAT | os.O_RDWR, 0o666
        )
    except (ImportError, OSError):  # no flock here, or another user's lock file
        yield
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print("waiting for another genlab stage to free the cores", file=sys.stderr)
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _world_size() -> int:
    """The number of processes torchrun started (1 outside torchrun)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def distributed(nproc: int, device: torch.device) -> tuple[int, int, torch.device]:
    """(rank, world size, device) of this process, joining torchrun's process group if any.

    With `nproc` > 1 outside torchrun the current command is run again under
    `torch.distributed.run --nproc_per_node=nproc` and this process exits with its status,
    so a DVC stage command needs no change. NCCL on GPUs (one per rank), gloo on CPUs.
    """
    import torch

    world = _world_size()
    if world == 1 and nproc > 1:
        import subprocess

        cmd = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            f"--nproc_per_node={nproc}",
            *sys.argv,
        ]
        raise SystemExit(subprocess.call(cmd))
    if world == 1:
        return 0, 1, device
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
    if not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return torch.distributed.get_rank(), world, device
