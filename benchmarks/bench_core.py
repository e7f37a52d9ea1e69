"""Engine throughput at constant depth: does an operation cost the same on a deep queue?

SPEC §3 asks that an operation cost the same whatever the depth of the queue. For each store
and item size this builds queues of several depths (pushing batches of 1,000 through the
engine), then times steady-state steps on all of them in interleaved rounds (each step pushes
as many messages as it pops, so depths stay constant) and reports the median time per engine
call, and the median over rounds of each depth's time over the shallowest depth's time.

Each store and item size runs in its own process, so the peak RSS reported is that run's own.

Usage: ``hatch run bench:core [--quick] [--doc docs/PERFORMANCE.md]``; see ``--help``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import gc
import json
import math
import os
import platform
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import push_pop_core
from push_pop_core import (
    CountingStore,
    MemoryStore,
    PushEntry,
    QueueEngine,
    SqliteDatabase,
    StateStore,
)
from push_pop_core._engine import SEGMENT_BYTES, SEGMENT_ITEMS

ROOT = Path(__file__).resolve().parent.parent
TARGET_RATIO = 1.2
BUILD_BATCH = 1000
LEASE_TTL = 600  # long enough that no lease expires during a run
MAX_STEPS = 100_000  # bounds one sample whatever the calibration says
WORKER_TIMEOUT = 3600.0  # seconds; bounds one store and item size

STORES = ("memory", "sqlite")
FULL = {
    "depths": [100, 10_000, 1_000_000],
    "sizes": [100, 1024, 16 * 1024],
    "rounds": 15,
    "sample_seconds": 0.25,
    "warmup_cycles": 2,
}
QUICK = {
    "depths": [100, 2_000],
    "sizes": [100, 1024],
    "rounds": 3,
    "sample_seconds": 0.01,
    "warmup_cycles": 0,
}


# ---------------------------------------------------------------------- steps


@dataclass(frozen=True)
class Mode:
    name: str
    label: str
    calls: int
    """Engine calls per step."""
    messages: int
    """Messages pushed, and as many taken, per step."""


MODES = {
    m.name: m
    for m in (
        Mode("single", "push 1 + pop 1", 2, 1),
        Mode("batch", "push 100 + pop 100", 2, 100),
        Mode("lease", "push 1 + lease 1 + ack 1", 3, 1),
    )
}

Step = Callable[[QueueEngine], Awaitable[None]]


def item_of(size: int) -> dict[str, Any]:
    """An item whose compact JSON is ``size`` bytes."""
    return {"p": "x" * max(0, size - len('{"p":""}'))}


def steps_for(size: int) -> dict[str, Step]:
    one = [PushEntry(item_of(size))]
    hundred = one * 100

    async def single(engine: QueueEngine) -> None:
        await engine.push(one)
        if len(await engine.pop(1)) != 1:
            raise RuntimeError("pop came back empty")

    async def batch(engine: QueueEngine) -> None:
        await engine.push(hundred)
        if len(await engine.pop(100)) != 100:
            raise RuntimeError("pop came back short")

    async def lease(engine: QueueEngine) -> None:
        await engine.push(one)
        (message,) = await engine.lease(1, LEASE_TTL)
        assert message.lock_id is not None
        await engine.acknowledge([message.lock_id])

    return {"single": single, "batch": batch, "lease": lease}


def segment_capacity(size: int) -> int:
    """Messages per segment for items of ``size`` bytes (a segment holds 100 or 64 KiB)."""
    record = size + len("[1000000,1700000000.123456,0,,null]")
    return max(1, min(SEGMENT_ITEMS, (SEGMENT_BYTES - 1) // (record + 1)))


# ---------------------------------------------------------------------- results


@dataclass
class Series:
    """One store, item size, step and depth: the time per step of every round."""

    store: str
    size: int
    mode: str
    depth: int
    steps: int
    seconds_per_step: list[float]
    reads_per_step: float
    commits_per_step: float


@dataclass
class QueueReport:
    store: str
    size: int
    depth: int
    build_seconds: float
    cache_peak: int
    cache_max: int
    file_bytes: int | None


@dataclass
class WorkerResult:
    store: str
    size: int
    segment_capacity: int
    series: list[Series]
    queues: list[QueueReport]
    rss_peak_kib: int
    rss_after_build_kib: int | None
    rss_steady_peak_kib: int | None
    seconds: float
    shared_file: bool
    rss_anon_kib: int | None = None
    """RSS at the end of the steady state: anonymous memory (heap, SQLite's page cache)."""
    rss_file_kib: int | None = None
    """RSS at the end of the steady state: file-backed pages (code, SQLite's mapped file)."""

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> WorkerResult:
        d = dict(d)
        d["series"] = [Series(**s) for s in d["series"]]
        d["queues"] = [QueueReport(**q) for q in d["queues"]]
        return cls(**d)


@dataclass
class WorkerConfig:
    store: str
    size: int
    depths: list[int]
    modes: list[str]
    rounds: int
    sample_seconds: float
    warmup_cycles: int
    tmpdir: str
    shared_file: bool


# ---------------------------------------------------------------------- memory


def proc_status_kib(name: str) -> int | None:
    """A ``Vm*`` line of /proc/self/status in KiB (Linux), else None."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(name + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark (VmHWM) to the current RSS (Linux ≥ 4.0)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


# ---------------------------------------------------------------------- one worker


@dataclass
class Queue:
    depth: int
    engine: QueueEngine
    db: SqliteDatabase | None
    path: Path | None
    build_seconds: float
    cache_peak: int = 0


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


async def build_queue(
    cfg: WorkerConfig, depth: int, databases: dict[Path, SqliteDatabase]
) -> Queue:
    """A queue of ``depth`` messages, pushed through the engine in batches of 1,000."""
    db: SqliteDatabase | None = None
    path: Path | None = None
    store: StateStore
    if cfg.store == "sqlite":
        name = "queues.db" if cfg.shared_file else f"depth-{depth}.db"
        path = Path(cfg.tmpdir) / name
        db = databases.get(path)
        if db is None:
            db = databases[path] = SqliteDatabase(path)
            await db.open()
        store = db.store(f"depth-{depth}")
    else:
        store = MemoryStore()
    engine = QueueEngine(store, queue_id=f"depth-{depth}")
    batch = [PushEntry(item_of(cfg.size))] * BUILD_BATCH
    started = time.perf_counter()
    for start in range(0, depth, BUILD_BATCH):
        await engine.push(batch[: min(BUILD_BATCH, depth - start)])
    seconds = time.perf_counter() - started
    stats = await engine.stats()
    if stats.ready != depth:
        raise RuntimeError(f"built {stats.ready} messages, wanted {depth}")
    return Queue(depth, engine, db, path, seconds)


async def timed(step: Step, engine: QueueEngine, steps: int) -> float:
    """Seconds per step over ``steps`` steps."""
    started = time.perf_counter()
    for _ in range(steps):
        await step(engine)
    return (time.perf_counter() - started) / steps


async def run_worker(cfg: WorkerConfig) -> WorkerResult:
    began = time.perf_counter()
    label = f"{cfg.store} {cfg.size} B"
    per = segment_capacity(cfg.size)
    queues: list[Queue] = []
    databases: dict[Path, SqliteDatabase] = {}
    for depth in sorted(cfg.depths):
        queue = await build_queue(cfg, depth, databases)
        rate = depth / queue.build_seconds if queue.build_seconds else 0.0
        log(f"[{label}] built depth {depth:,} in {queue.build_seconds:.1f} s ({rate:,.0f} msg/s)")
        queues.append(queue)
    gc.collect()
    rss_after_build = proc_status_kib("VmRSS")
    steady_peak_known = reset_peak_rss()

    step_of = steps_for(cfg.size)
    steps: dict[str, int] = {}
    for mode in cfg.modes:
        step = step_of[mode]
        base = queues[0].engine
        # Steps after which the head and tail segments are back at the same fill level.
        cycle = per // math.gcd(per, MODES[mode].messages)
        # Calibrate on the shallowest queue, then round up to whole cycles (the full run
        # always does, the quick one when it can), so that every sample sees the segments at
        # every fill level equally often: a push rewrites a fuller tail as it fills.
        per_step = await timed(step, base, cycle if cfg.warmup_cycles else 3)
        n = max(3, math.ceil(cfg.sample_seconds / max(per_step, 1e-9)))
        if n >= cycle or cfg.warmup_cycles:
            n = math.ceil(n / cycle) * cycle
        steps[mode] = min(n, MAX_STEPS)
        warmup = max(steps[mode], cfg.warmup_cycles * cycle)
        for queue in queues:
            await timed(step, queue.engine, warmup)
        log(f"[{label}] {mode}: {steps[mode]} steps per sample, {warmup} warm-up steps")

    times: dict[tuple[str, int], list[float]] = {
        (m, q.depth): [] for m in cfg.modes for q in queues
    }
    for r in range(cfg.rounds):
        for mode in cfg.modes:
            # Interleaved: every depth once per round, the order reversed every other round.
            for queue in queues if r % 2 == 0 else queues[::-1]:
                t = await timed(step_of[mode], queue.engine, steps[mode])
                times[mode, queue.depth].append(t)
                queue.cache_peak = max(queue.cache_peak, queue.engine._cache.size)
        log(f"[{label}] round {r + 1}/{cfg.rounds} done")

    # Untimed: count the store calls a step makes at each depth.
    counts: dict[tuple[str, int], tuple[float, float]] = {}
    for mode in cfg.modes:
        for queue in queues:
            inner = queue.engine.store
            counting = CountingStore(inner)
            queue.engine.store = counting
            try:
                await timed(step_of[mode], queue.engine, steps[mode])
            finally:
                queue.engine.store = inner
            c = counting.reset()
            counts[mode, queue.depth] = (c.reads / steps[mode], c.commits / steps[mode])

    # Before closing: closing a database unmaps its file.
    rss_anon, rss_file = proc_status_kib("RssAnon"), proc_status_kib("RssFile")
    for db in databases.values():
        await db.close()
    return WorkerResult(
        store=cfg.store,
        size=cfg.size,
        segment_capacity=per,
        series=[
            Series(
                store=cfg.store,
                size=cfg.size,
                mode=mode,
                depth=queue.depth,
                steps=steps[mode],
                seconds_per_step=times[mode, queue.depth],
                reads_per_step=counts[mode, queue.depth][0],
                commits_per_step=counts[mode, queue.depth][1],
            )
            for mode in cfg.modes
            for queue in queues
        ],
        queues=[
            QueueReport(
                store=cfg.store,
                size=cfg.size,
                depth=queue.depth,
                build_seconds=queue.build_seconds,
                cache_peak=queue.cache_peak,
                cache_max=queue.engine._cache.max_bytes,
                file_bytes=None if queue.path is None else files_bytes(queue.path),
            )
            for queue in queues
        ],
        rss_peak_kib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        rss_after_build_kib=rss_after_build,
        rss_steady_peak_kib=proc_status_kib("VmHWM") if steady_peak_known else None,
        seconds=time.perf_counter() - began,
        shared_file=cfg.shared_file,
        rss_anon_kib=rss_anon,
        rss_file_kib=rss_file,
    )


def files_bytes(db: Path) -> int:
    """The database file plus its WAL."""
    paths = [db, db.with_name(db.name + "-wal")]
    return sum(p.stat().st_size for p in paths if p.exists())


def worker_main(raw: str) -> None:
    cfg = WorkerConfig(**json.loads(raw))
    with tempfile.TemporaryDirectory(prefix="bench-core-", dir=cfg.tmpdir) as tmp:
        cfg.tmpdir = tmp
        result = asyncio.run(run_worker(cfg))
    print(json.dumps(asdict(result)))


# ---------------------------------------------------------------------- the whole run


def capped_depths(depths: Sequence[int], size: int, max_queue_mib: float) -> list[int]:
    """The depths, each cut to what fits in ``max_queue_mib`` (rounded down to 1 digit)."""
    fits = int(max_queue_mib * 2**20 // size)
    cap = 10 ** (len(str(fits)) - 1) * int(str(fits)[0]) if fits > 0 else 1
    return sorted({min(d, cap) for d in depths})


def run_all(args: argparse.Namespace) -> list[WorkerResult]:
    results: list[WorkerResult] = []
    for store in args.stores:
        for size in args.sizes:
            cfg = WorkerConfig(
                store=store,
                size=size,
                depths=capped_depths(args.depths, size, args.max_queue_mib),
                modes=args.modes,
                rounds=args.rounds,
                sample_seconds=args.sample_seconds,
                warmup_cycles=args.warmup_cycles,
                tmpdir=args.tmpdir,
                shared_file=args.sqlite_file == "shared",
            )
            proc = subprocess.run(
                [sys.executable, __file__, "--worker", json.dumps(asdict(cfg))],
                stdout=subprocess.PIPE,
                text=True,
                check=True,
                timeout=WORKER_TIMEOUT,
            )
            results.append(WorkerResult.from_json(json.loads(proc.stdout)))
    return results


# ---------------------------------------------------------------------- report


def size_label(size: int) -> str:
    return f"{size // 1024} KiB" if size % 1024 == 0 else f"{size} B"


def mib(kib_or_bytes: int | None, *, kib: bool = False) -> str:
    if kib_or_bytes is None:
        return "n/a"
    return f"{kib_or_bytes / (1024 if kib else 2**20):,.0f} MiB"


def rss_split(res: WorkerResult) -> str:
    """Anonymous + file-backed RSS (a mapped database file counts in RSS, but the kernel
    can drop those pages whenever it needs the memory)."""
    if res.rss_anon_kib is None or res.rss_file_kib is None:
        return "n/a"
    return f"{mib(res.rss_anon_kib, kib=True)} + {mib(res.rss_file_kib, kib=True)}"


def sig(x: float) -> str:
    """Three significant digits, thousands separated."""
    if x >= 100:
        return f"{x:,.0f}"
    return f"{x:.3g}"


@dataclass
class Ratio:
    median: float
    low: float
    high: float


def paired_ratio(deep: Sequence[float], base: Sequence[float]) -> Ratio:
    """Median and quartiles over rounds of deep time / base time in the same round."""
    ratios = [d / b for d, b in zip(deep, base, strict=True)]
    if len(ratios) < 2:
        return Ratio(ratios[0], ratios[0], ratios[0])
    q1, _, q3 = statistics.quantiles(ratios, n=4)
    return Ratio(statistics.median(ratios), q1, q3)


@dataclass
class Verdict:
    """The deepest queue of one store, item size and step against the shallower ones."""

    res: WorkerResult
    mode: Mode
    rows: list[Series]
    """By depth: shallowest first."""
    vs_shallowest: Ratio
    vs_middle: Ratio | None
    """Against the next depth up: both past the cache, so only depth differs."""


def store_label(res: WorkerResult) -> str:
    return "sqlite, one file" if res.store == "sqlite" and res.shared_file else res.store


def verdicts(results: Sequence[WorkerResult]) -> list[Verdict]:
    out = []
    for res in results:
        for mode_name in dict.fromkeys(s.mode for s in res.series):
            rows = sorted((s for s in res.series if s.mode == mode_name), key=lambda s: s.depth)
            deep = rows[-1].seconds_per_step
            out.append(
                Verdict(
                    res,
                    MODES[mode_name],
                    rows,
                    paired_ratio(deep, rows[0].seconds_per_step),
                    paired_ratio(deep, rows[1].seconds_per_step) if len(rows) > 2 else None,
                )
            )
    return out


def report(results: Sequence[WorkerResult], elapsed: float) -> tuple[str, bool]:
    """The Markdown results, and whether every deepest queue is within the target."""
    found = verdicts(results)
    out = [
        "| Store | Item | Step | Depth | µs / call | calls/s | msgs/s | reads/step "
        "| vs shallowest (p25-p75) |",
        "|---|---|---|--:|--:|--:|--:|--:|--:|",
    ]
    for v in found:
        base = v.rows[0]
        for s in v.rows:
            median = statistics.median(s.seconds_per_step)
            if s is base:
                ratio_cell = "1 (baseline)"
            else:
                r = paired_ratio(s.seconds_per_step, base.seconds_per_step)
                ratio_cell = f"**{r.median:.2f}** ({r.low:.2f}-{r.high:.2f})"
            out.append(
                f"| {store_label(v.res)} | {size_label(v.res.size)} | {v.mode.label} "
                f"| {s.depth:,} | {sig(median / v.mode.calls * 1e6)} "
                f"| {v.mode.calls / median:,.0f} | {v.mode.messages / median:,.0f} "
                f"| {s.reads_per_step:.2f} | {ratio_cell} |"
            )

    def cell(r: Ratio | None) -> str:
        return "n/a" if r is None else f"{r.median:.2f} ({r.low:.2f}-{r.high:.2f})"

    out += [
        "",
        f"Target: time per call on the deepest queue within {TARGET_RATIO}x the shallowest. "
        "Ratios are medians over rounds of the paired per-round ratio (p25-p75 in brackets).",
        "",
        "| Store | Item | Step | Depths | Deepest / shallowest | Within target "
        "| Deepest / middle | Reads per step |",
        "|---|---|---|---|--:|---|--:|---|",
    ]
    for v in found:
        ok = v.vs_shallowest.median <= TARGET_RATIO
        depths = " / ".join(f"{s.depth:,}" for s in v.rows)
        reads = " / ".join(f"{s.reads_per_step:.2f}" for s in v.rows)
        out.append(
            f"| {store_label(v.res)} | {size_label(v.res.size)} | {v.mode.label} | {depths} "
            f"| {cell(v.vs_shallowest)} | {'yes' if ok else '**no**'} | {cell(v.vs_middle)} "
            f"| {reads} |"
        )
    worst = max(found, key=lambda v: v.vs_shallowest.median)
    within = sum(1 for v in found if v.vs_shallowest.median <= TARGET_RATIO)
    out += [
        "",
        f"{within} of {len(found)} within target; worst {worst.vs_shallowest.median:.2f}x "
        f"({store_label(worst.res)}, {size_label(worst.res.size)}, {worst.mode.label}).",
        "",
        "| Store | Item | Deepest queue | Build | Build msgs/s | On disk | Peak RSS (run) "
        "| RSS after build | Peak RSS (steady state) | RSS at end: anon + file "
        "| Engine cache peak / bound |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for res in results:
        deepest = max(res.queues, key=lambda q: q.depth)
        cache_peak = max(q.cache_peak for q in res.queues)
        rate = deepest.depth / deepest.build_seconds if deepest.build_seconds else 0.0
        on_disk = "(in RAM)" if deepest.file_bytes is None else mib(deepest.file_bytes)
        out.append(
            f"| {store_label(res)} | {size_label(res.size)} | {deepest.depth:,} "
            f"| {deepest.build_seconds:.1f} s | {rate:,.0f} | {on_disk} "
            f"| {mib(res.rss_peak_kib, kib=True)} | {mib(res.rss_after_build_kib, kib=True)} "
            f"| {mib(res.rss_steady_peak_kib, kib=True)} | {rss_split(res)} "
            f"| {cache_peak // 1024} / {deepest.cache_max // 1024} KiB |"
        )
    out += ["", f"Total run time: {elapsed / 60:.1f} min."]
    return "\n".join(out), within == len(found)


def machine_info(args: argparse.Namespace, argv: Sequence[str]) -> str:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = proc_meminfo_gib()
    commit = "unknown"
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    layout = "all queues in one file" if args.sqlite_file == "shared" else "one file per queue"
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"- Date: {now}; push-pop-core {push_pop_core.__version__} at commit `{commit}`",
        f"- CPU: {cpu}, {os.cpu_count()} cores; RAM: {ram}",
        f"- Python {platform.python_version()} ({platform.python_implementation()}), "
        f"SQLite {sqlite3.sqlite_version}, {platform.system()} {platform.release()}",
        f"- SQLite: {layout} in `{args.tmpdir}` on {filesystem_of(Path(args.tmpdir))} "
        "(WAL, `synchronous=FULL`: one fsync per commit)",
        f"- Command: `{' '.join(['python benchmarks/bench_core.py', *argv])}`",
        f"- {args.rounds} rounds, samples of ~{args.sample_seconds} s, "
        f"{args.warmup_cycles} segment fill cycles (at least one sample) of warm-up",
    ]
    return "\n".join(lines)


def proc_meminfo_gib() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 2**20:.0f} GiB"
    except OSError:
        pass
    return "unknown"


def filesystem_of(path: Path) -> str:
    """The filesystem type of the mount holding ``path`` (Linux), e.g. ``ext4``."""
    best, kind = "", "unknown filesystem"
    try:
        resolved = str(path.resolve())
        for line in Path("/proc/mounts").read_text().splitlines():
            parts = line.split()
            mount, fstype = parts[1], parts[2]
            inside = resolved == mount or resolved.startswith(mount.rstrip("/") + "/")
            if inside and len(mount) > len(best):
                best, kind = mount, fstype
    except (OSError, IndexError):
        pass
    return kind


def write_doc(path: Path, section: str, block: str) -> None:
    """Replace what lies between the section's begin and end markers in ``path``."""
    begin, end = f"<!-- bench_core {section}: begin -->", f"<!-- bench_core {section}: end -->"
    text = path.read_text()
    i, j = text.find(begin), text.find(end)
    if i < 0 or j < i:
        raise SystemExit(f"{path}: markers {begin!r} and {end!r} not found")
    path.write_text(text[: i + len(begin)] + "\n" + block + "\n" + text[j:])


# ---------------------------------------------------------------------- command line


def int_list(text: str) -> list[int]:
    return [int(x.replace("_", "")) for x in text.split(",") if x.strip()]


def size_list(text: str) -> list[int]:
    """Sizes in bytes: ``100,1k,16KiB``."""
    sizes = []
    for raw in text.split(","):
        x = raw.strip().lower()
        for suffix in ("kib", "k"):
            if x.endswith(suffix):
                sizes.append(int(x[: -len(suffix)]) * 1024)
                break
        else:
            sizes.append(int(x))
    return sizes


def name_list(choices: Sequence[str]) -> Callable[[str], list[str]]:
    def parse(text: str) -> list[str]:
        names = [x.strip() for x in text.split(",") if x.strip()]
        bad = [n for n in names if n not in choices]
        if bad or not names:
            raise argparse.ArgumentTypeError(f"choose from {', '.join(choices)}")
        return names

    return parse


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--quick", action="store_true", help="a smoke run of a few seconds")
    p.add_argument(
        "--stores", type=name_list(STORES), default=list(STORES), help="memory,sqlite (both)"
    )
    p.add_argument("--sizes", type=size_list, help="item sizes (JSON bytes): 100,1k,16k")
    p.add_argument("--depths", type=int_list, help="queue depths; the smallest is the baseline")
    p.add_argument(
        "--modes",
        type=name_list(list(MODES)),
        default=list(MODES),
        help="steps to time: single,batch,lease (all)",
    )
    p.add_argument("--rounds", type=int, help="interleaved rounds (medians are over these)")
    p.add_argument("--sample-seconds", type=float, help="target duration of one sample")
    p.add_argument("--warmup-cycles", type=int, help="segment fill cycles of warm-up")
    p.add_argument(
        "--max-queue-mib",
        type=float,
        default=1700.0,
        help="cap each queue's payload (depth x item size) at this; default %(default)s",
    )
    p.add_argument("--tmpdir", default=tempfile.gettempdir(), help="where SQLite files go")
    p.add_argument(
        "--sqlite-file",
        choices=("separate", "shared"),
        default="separate",
        help="one SQLite file per queue (default), or all depths' queues in one file",
    )
    p.add_argument("--doc", type=Path, help="rewrite a results block of this Markdown file")
    p.add_argument(
        "--doc-section",
        default="results",
        help="the block between <!-- bench_core NAME: begin/end --> (default %(default)s)",
    )
    p.add_argument("--json", type=Path, help="also save the raw results here")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    preset = QUICK if args.quick else FULL
    for name, value in preset.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.rounds < 1 or args.sample_seconds <= 0 or args.warmup_cycles < 0:
        p.error("--rounds must be ≥ 1, --sample-seconds > 0, --warmup-cycles ≥ 0")
    if not args.depths or min(args.depths) < 1 or not args.sizes or min(args.sizes) < 8:
        p.error("depths must be ≥ 1 and sizes ≥ 8 bytes")
    return args


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    if args.worker is not None:
        worker_main(args.worker)
        return 0
    started = time.perf_counter()
    results = run_all(args)
    table, _ = report(results, time.perf_counter() - started)
    block = machine_info(args, argv) + "\n\n" + table
    print(block)
    if args.json is not None:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=1))
    if args.doc is not None:
        write_doc(args.doc, args.doc_section, block)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
