"""Build the Dapr runtime (daprd + placement) from source into a cache outside the repository.

``python tools/dapr-runtime/build.py`` is idempotent: it does nothing when the binaries for this
version and this module's sources are present and runnable. The cache lives in
``${PUSH_POP_DAPR_CACHE:-~/.cache/push-pop/dapr}/<version>/`` and holds ``daprd``, ``placement``
and a ``BUILD-STAMP`` (a hash of go.mod, go.sum, the Go sources and the build inputs below), so
editing the component set rebuilds. Binaries are built into a temporary directory next to the
cache and renamed into place, so a half-finished build is never mistaken for a good one. Other
Python code (the devstack launcher, the integration fixtures) imports :func:`binaries` and
:func:`ensure_built`.

daprd is dapr's own ``cmd/daprd/app`` with our component set. That package imports dapr's
``cmd/daprd/components``, which registers every stock component behind build tags and panics at
start-up without them. The build compiles it empty instead, with ``go build -overlay`` (drop
``zz_notag.go``, add a file holding only ``package components``). Go refuses overlays of files in
the module cache, so each build unpacks dapr's module zip (the one ``go mod download`` verified
against go.sum) into its temporary directory and points a throw-away ``go.work`` at it with a
``replace``; dependency versions stay exactly those of go.mod. ``--prepare DIR`` sets that up in
DIR for running ``go vet`` or ``go build`` by hand.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

DAPR_VERSION = "1.18.3"
DAPR_COMMIT = "2dcf2e3548faf3c740b3d29ee300e2132db65cff"
MIN_GO = (1, 26, 6)  # the `go` line of dapr v1.18.3's go.mod
MODULE_DIR = Path(__file__).resolve().parent
BINARY_NAMES = ("daprd", "placement")
# Package to build for each binary, relative to MODULE_DIR.
_PACKAGES = {"daprd": "./cmd/daprd", "placement": "./cmd/placement"}
_STAMP = "BUILD-STAMP"
_DAPR_MODULE = "github.com/dapr/dapr"
# dapr's component registry package, and what the overlay does to it: drop the file that panics
# when no component build tag is set, add one that only names the package.
_COMPONENTS_PKG = "cmd/daprd/components"
_OVERLAY_DROP = ("zz_notag.go",)
_OVERLAY_STUB_NAME = "zz_push_pop.go"
_OVERLAY_STUB = (
    "// Added by push-pop's tools/dapr-runtime/build.py through go build -overlay: this package\n"
    "// stays empty; cmd/daprd/components.go of push-pop registers the components.\n"
    "package components\n"
)


class BuildError(RuntimeError):
    """The runtime could not be built (Go missing or too old, or the build failed)."""


def cache_root() -> Path:
    """Directory holding one sub-directory per Dapr version."""
    configured = os.environ.get("PUSH_POP_DAPR_CACHE")
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "push-pop" / "dapr"


def cache_dir() -> Path:
    """Directory of the binaries for the pinned Dapr version."""
    return cache_root() / DAPR_VERSION


def binaries() -> dict[str, Path]:
    """Paths of the cached binaries, ``{"daprd": ..., "placement": ...}`` (may not exist yet)."""
    return {name: cache_dir() / name for name in BINARY_NAMES}


def source_stamp() -> str:
    """Hash of everything that decides what the build produces."""
    digest = hashlib.sha256(f"dapr {DAPR_VERSION} {DAPR_COMMIT}\n".encode())
    overlay = f"{_COMPONENTS_PKG} drop={','.join(_OVERLAY_DROP)} add={_OVERLAY_STUB_NAME}\n"
    digest.update(f"ldflags {_ldflags()}\noverlay {overlay}{_OVERLAY_STUB}\0".encode())
    files = [MODULE_DIR / "go.mod", MODULE_DIR / "go.sum", *sorted(MODULE_DIR.rglob("*.go"))]
    for path in files:
        digest.update(path.relative_to(MODULE_DIR).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def is_built() -> bool:
    """True when both binaries exist, match the current sources and actually run."""
    stamp = cache_dir() / _STAMP
    if not stamp.is_file() or stamp.read_text().strip() != source_stamp():
        return False
    paths = binaries()
    if not all(os.access(path, os.X_OK) for path in paths.values()):
        return False
    try:
        version = subprocess.run(
            [str(paths["daprd"]), "--version"], capture_output=True, text=True, timeout=30
        )
        placement = subprocess.run(
            [str(paths["placement"]), "--help"], capture_output=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return (
        version.returncode == 0
        and version.stdout.strip() == DAPR_VERSION
        and placement.returncode == 0
    )


def go_binary() -> str:
    """Path of a Go toolchain new enough for dapr, or raise :class:`BuildError`."""
    go = shutil.which("go")
    if go is None:
        raise BuildError(
            f"Go is not installed (or not on PATH). Building Dapr {DAPR_VERSION} needs "
            f"Go >= {'.'.join(map(str, MIN_GO))}: install it from https://go.dev/dl/ "
            "or your package manager, then re-run."
        )
    out = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True).stdout
    match = re.match(r"go(\d+)\.(\d+)(?:\.(\d+))?", out.strip())
    if match is None:
        raise BuildError(f"cannot read the Go version from {go!r}: {out.strip()!r}")
    found = tuple(int(part or 0) for part in match.groups())
    if found < MIN_GO:
        raise BuildError(
            f"{go} is {out.strip()}; Dapr {DAPR_VERSION} needs Go >= {'.'.join(map(str, MIN_GO))}."
        )
    return go


@contextlib.contextmanager
def _build_lock() -> Iterator[None]:
    """Serialise builds between processes (e.g. parallel test sessions)."""
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    with (root / f".{DAPR_VERSION}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _ldflags() -> str:
    info = "github.com/dapr/dapr/pkg/buildinfo"
    return (
        f"-s -w -X {info}.version={DAPR_VERSION} -X {info}.gitcommit={DAPR_COMMIT}"
        f" -X {info}.gitversion=v{DAPR_VERSION}"
    )


def _base_env() -> dict[str, str]:
    return {
        **os.environ,
        "CGO_ENABLED": "0",  # static binaries; every component we register is pure Go
        "GOTOOLCHAIN": "local",  # never try to download a toolchain
        "GOFLAGS": "-mod=readonly",
        "GOWORK": "off",
    }


def _go_line() -> str:
    match = re.search(r"^go (\S+)$", (MODULE_DIR / "go.mod").read_text(), re.MULTILINE)
    if match is None:
        raise BuildError("go.mod has no `go` line")
    return match.group(1)


def prepare_workspace(go: str, where: Path) -> tuple[dict[str, str], list[str]]:
    """Set up the overlay build in ``where``; return its environment and extra ``go`` flags.

    Unpacks dapr's module zip into ``where/dapr``, writes the overlay stub, the overlay
    JSON and a ``go.work`` that uses this module and replaces dapr with the unpacked copy.
    """
    download = subprocess.run(
        [go, "mod", "download", "-json", _DAPR_MODULE],
        cwd=MODULE_DIR,
        env=_base_env(),
        capture_output=True,
        text=True,
    )
    if download.returncode != 0:
        raise BuildError(f"go mod download {_DAPR_MODULE} failed:\n{download.stderr}")
    info = json.loads(download.stdout)
    if info.get("Version") != f"v{DAPR_VERSION}" or not info.get("Zip"):
        raise BuildError(f"go.mod does not pin {_DAPR_MODULE} v{DAPR_VERSION}: {info}")
    where = where.resolve()
    where.mkdir(parents=True, exist_ok=True)
    prefix = f"{_DAPR_MODULE}@v{DAPR_VERSION}/"
    dapr = where / "dapr"
    with zipfile.ZipFile(info["Zip"]) as archive:
        for member in archive.infolist():
            name = member.filename
            if not name.startswith(prefix) or ".." in name.split("/"):
                raise BuildError(f"unexpected entry in {info['Zip']}: {name!r}")
            member.filename = name[len(prefix) :]
            if member.filename:
                archive.extract(member, dapr)
    stub = where / _OVERLAY_STUB_NAME
    stub.write_text(_OVERLAY_STUB)
    components = dapr / _COMPONENTS_PKG
    replace = {str(components / name): "" for name in _OVERLAY_DROP}
    replace[str(components / _OVERLAY_STUB_NAME)] = str(stub)
    overlay = where / "overlay.json"
    overlay.write_text(json.dumps({"Replace": replace}, indent=2) + "\n")
    workspace = where / "go.work"
    workspace.write_text(
        f"go {_go_line()}\n\nuse {json.dumps(str(MODULE_DIR))}\n\n"
        f"replace {_DAPR_MODULE} v{DAPR_VERSION} => ./{dapr.name}\n"
    )
    return {**_base_env(), "GOWORK": str(workspace)}, [f"-overlay={overlay}"]


def build(*, force: bool = False, log: bool = True) -> dict[str, Path]:
    """Build daprd and placement unless already built; return their paths.

    Raises:
        BuildError: Go is missing or too old, or ``go build`` failed.
    """
    if not force and is_built():
        return binaries()
    go = go_binary()
    with _build_lock():
        if not force and is_built():  # another process built it while we waited
            return binaries()
        target = cache_dir()
        target.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".build-", dir=cache_root()) as tmp:
            env, flags = prepare_workspace(go, Path(tmp) / "workspace")
            for name in BINARY_NAMES:
                out = Path(tmp) / name
                cmd = [go, "build", "-trimpath", *flags, f"-ldflags={_ldflags()}", "-o", str(out)]
                cmd.append(_PACKAGES[name])
                if log:
                    print(f"building {name}: {' '.join(cmd)}", file=sys.stderr, flush=True)
                started = time.monotonic()
                result = subprocess.run(cmd, cwd=MODULE_DIR, env=env)
                if result.returncode != 0:
                    raise BuildError(f"go build of {name} failed (exit {result.returncode})")
                if log:
                    size = out.stat().st_size / 2**20
                    took = time.monotonic() - started
                    print(f"built {name} in {took:.0f}s, {size:.1f} MiB", file=sys.stderr)
            for name in BINARY_NAMES:
                os.replace(Path(tmp) / name, target / name)
            # The stamp goes last: it is what marks the directory as complete.
            stamp_tmp = Path(tmp) / _STAMP
            stamp_tmp.write_text(source_stamp() + "\n")
            os.replace(stamp_tmp, target / _STAMP)
    if not is_built():
        raise BuildError(f"built binaries in {target} do not run; see the output above")
    return binaries()


def ensure_built() -> dict[str, Path]:
    """Alias of :func:`build` for callers that only want the binaries to exist."""
    return build()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="rebuild even if cached")
    parser.add_argument("--print-dir", action="store_true", help="print the cache dir and exit")
    parser.add_argument(
        "--prepare",
        metavar="DIR",
        type=Path,
        help="only set up the overlay workspace in DIR and print how to run go vet/build with it",
    )
    args = parser.parse_args(argv)
    if args.print_dir:
        print(cache_dir())
        return 0
    try:
        if args.prepare is not None:
            env, flags = prepare_workspace(go_binary(), args.prepare)
            settings = " ".join(f"{key}={env[key]}" for key in ("CGO_ENABLED", "GOWORK"))
            print(f"cd {MODULE_DIR} && {settings} go vet {' '.join(flags)} ./...")
            return 0
        paths = build(force=args.force)
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for name, path in paths.items():
        print(f"{name}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
