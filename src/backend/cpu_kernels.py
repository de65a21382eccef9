"""Building, checking and loading the project's C++ CPU kernels (src/backend/kernels/*.cc, run through ops.Custom "aot").

Why: two of MindSpore 2.10's CPU paths cost an I3D train step most of its time (the max-pool gradient,
and convolutions that oneDNN can only run as im2col+gemm in MindSpore's plain layouts); small C++
kernels replace them (src/backend/max_pool.py, src/backend/conv3d.py). A kernel must never make a run crash or silently
compute something else, so each library is
- built with g++ into a per-user cache, named by a hash of everything that changes the binary: source and
  included header, compiler (path and version) and flags, and for the convolution the identity of the
  oneDNN library it links (MindSpore's libdnnl.so.3: version, runtime and file hash);
- checked in a child process before MindSpore loads it (the library's I3dSelfCheck: oneDNN version and
  threading runtime against the declarations it was compiled with, results against plain loops), and
  the check recorded with the library's file hash, so a truncated or replaced file is checked again and
  rebuilt, never handed to MindSpore;
- announced in one line on first use (where the library is, what the check said).
Where a kernel cannot be built or fails its check, the network uses MindSpore's own operator (results
agree to float rounding) after one warning; with I3D_STRICT_KERNELS=1 that is an error instead (CI).
`make kernels` (main() here) prebuilds them; src/backend/runtime.py's configure() prepares them
before MindSpore's first op.
"""
import ctypes
import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

KERNEL_DIR = Path(__file__).resolve().parent / "kernels"
STRICT_VAR = "I3D_STRICT_KERNELS"       # "1": a kernel that cannot be built or loaded is an error
EXTRA_FLAGS_VAR = "I3D_KERNEL_CXXFLAGS"  # extra g++ flags (make sanitize), part of the cache key
ONEDNN_LIBRARY_VAR = "I3D_ONEDNN_LIBRARY"  # another libdnnl.so.3 to link against (default: MindSpore's)
# -z nodelete: MindSpore dlcloses an aot library when the last graph using it is freed; the convolution's
# thread pool lives on in it (parked workers), and unmapping the code under them crashed the process
# (the segfault of issue 23; tests/test_conv3d.py::test_the_library_stays_loaded_after_mindspore_releases_it).
OPTIONS = ["-O3", "-shared", "-fPIC", "-pthread", "-std=c++17", "-Wl,-z,nodelete"]
CHECK_TIMEOUT_S = 300


class KernelUnavailable(RuntimeError):
    """A kernel could not be built, loaded or checked while I3D_STRICT_KERNELS=1."""


@dataclass(frozen=True)
class KernelSpec:
    source: str
    headers: tuple      # files in src/backend/kernels/ that the source includes
    needs_onednn: bool  # links MindSpore's libdnnl.so.3
    fallback: str       # what the network uses without it


KERNELS = {
    "conv3d": KernelSpec("conv3d_onednn.cc", ("onednn_subset.h",), True, "MindSpore's Conv3D (slower on CPU)"),
    "max_pool": KernelSpec("max_pool3d_grad.cc", (), False, "MindSpore's MaxPool3DGrad (slower on CPU)"),
}

_ready = {}      # kernel name -> Path or None, once prepared in this process
_warned = set()
_memo = {}       # (what, identity) -> value, for the slow identity look-ups

# Run in a child process: a library that crashes on load or in its check cannot take the caller with it.
CHECK_SCRIPT = r"""
import ctypes, sys
lib = ctypes.CDLL(sys.argv[1])
message = ctypes.create_string_buffer(1024)
code = lib.I3dSelfCheck(message, len(message))
print(message.value.decode(errors="replace"))
sys.exit(0 if code == 0 else 10 + code)
"""


def strict_kernels():
    return os.environ.get(STRICT_VAR, "") not in ("", "0")


def kernel_cache_dir():
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(root) / "i3d-mindspore"


def on_cpu():
    import mindspore as ms  # not at import: src/backend/runtime.py asks conv_kernel_buildable before MindSpore loads

    return ms.get_context("device_target") == "CPU"


def cpu_threads():
    """MindSpore's CPU thread count, which the kernels use too (never more threads than MindSpore's)."""
    import mindspore as ms

    return max(int(ms.get_context("runtime_num_threads") or 1), 1)


def compiler():
    return shutil.which(os.environ.get("CXX", "g++"))


def warn_once(message):
    if message not in _warned:
        _warned.add(message)
        warnings.warn(message, stacklevel=2)


def package_dir(name):
    """Folder of an installed package, found without importing it."""
    spec = importlib.util.find_spec(name)
    return Path(next(iter(spec.submodule_search_locations))) if spec and spec.submodule_search_locations else None


def onednn_library():
    """(path of the libdnnl.so.3 the convolution links, None) or (None, why not): MindSpore's own, which
    runs MindSpore's operators too, unless I3D_ONEDNN_LIBRARY names another."""
    chosen = os.environ.get(ONEDNN_LIBRARY_VAR)
    if chosen:
        path = Path(chosen).resolve()
        return (path, None) if path.is_file() else (None, f"{ONEDNN_LIBRARY_VAR}={chosen} is not a file")
    mindspore = package_dir("mindspore")
    if mindspore is None:
        return None, "MindSpore is not installed"
    path = mindspore / "lib" / "libdnnl.so.3"
    return (path.resolve(), None) if path.is_file() else (None, f"{path} not found")


def _memoized(what, path, compute):
    stat = Path(path).stat()
    key = (what, str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _memo:
        _memo[key] = compute()
    return _memo[key]


def file_sha256(path):
    def compute():
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()

    return _memoized("sha256", path, compute)


class _Version(ctypes.Structure):
    _fields_ = [("major", ctypes.c_int), ("minor", ctypes.c_int), ("patch", ctypes.c_int),
                ("hash", ctypes.c_char_p), ("cpu_runtime", ctypes.c_uint), ("gpu_runtime", ctypes.c_uint)]


RUNTIMES = {1: "SEQ", 2: "OMP", 4: "TBB", 8: "THREADPOOL", 512: "SYCL"}


def onednn_version(path):
    """'3.10.1 THREADPOOL' from the library's dnnl_version() (no primitive is created, so oneDNN's ISA
    choice is not fixed by this), or 'unreadable (...)'."""
    def compute():
        try:
            lib = ctypes.CDLL(str(path))
            lib.dnnl_version.restype = ctypes.POINTER(_Version)
            v = lib.dnnl_version().contents
        except (OSError, AttributeError) as exc:
            return f"unreadable ({exc})"
        return f"{v.major}.{v.minor}.{v.patch} {RUNTIMES.get(v.cpu_runtime, hex(v.cpu_runtime))}"

    return _memoized("version", path, compute)


def compiler_identity(cxx):
    def compute():
        done = subprocess.run([cxx, "--version"], capture_output=True, text=True, check=False)
        return f"{cxx} {done.stdout.splitlines()[0] if done.stdout else '?'}"

    return _memoized("compiler", cxx, compute)


def header_version(spec):
    """The oneDNN C API range the convolution's declarations were checked for (onednn_subset.h)."""
    if not spec.needs_onednn:
        return "none"
    text = (KERNEL_DIR / spec.headers[0]).read_text()
    get = {name: re.search(rf"#define {name} (\d+)", text).group(1)
           for name in ("I3D_DNNL_MAJOR", "I3D_DNNL_MIN_MINOR", "I3D_DNNL_MAX_MINOR")}
    for flag in extra_flags():  # -DI3D_DNNL_MAX_MINOR=9 and the like override the header's range
        name, _, value = flag[2:].partition("=")
        if flag.startswith("-D") and name in get and value.isdigit():
            get[name] = value
    return f"{get['I3D_DNNL_MAJOR']}.{get['I3D_DNNL_MIN_MINOR']}-{get['I3D_DNNL_MAJOR']}.{get['I3D_DNNL_MAX_MINOR']}"


def extra_flags():
    return os.environ.get(EXTRA_FLAGS_VAR, "").split()


@dataclass(frozen=True)
class BuildPlan:
    """Everything that changes a kernel's binary, resolved once; `key` names the cached library."""
    name: str
    command: tuple      # g++ ... -o {out} source ... (out filled in at build time)
    key_parts: tuple    # (label, value) pairs hashed into the key

    @property
    def key(self):
        return hashlib.sha256(json.dumps(self.key_parts).encode()).hexdigest()[:16]

    @property
    def library(self):
        return kernel_cache_dir() / f"{Path(KERNELS[self.name].source).stem}_{self.key}.so"


def build_plan(name):
    """The BuildPlan for kernel `name`, or (None, why it cannot be built here)."""
    spec = KERNELS[name]
    cxx = compiler()
    if cxx is None:
        return None, f"no C++ compiler ({os.environ.get('CXX', 'g++')})"
    link = []
    parts = [("source", hashlib.sha256((KERNEL_DIR / spec.source).read_bytes()).hexdigest())]
    parts += [(f"header {h}", hashlib.sha256((KERNEL_DIR / h).read_bytes()).hexdigest()) for h in spec.headers]
    if spec.needs_onednn:
        library, why_not = onednn_library()
        if library is None:
            return None, why_not
        link = [str(library), f"-Wl,-rpath,{library.parent}"]
        parts += [("header version", header_version(spec)), ("onednn", onednn_version(library)),
                  ("onednn sha256", file_sha256(library)), ("onednn path", str(library))]
    options = OPTIONS + extra_flags()
    parts += [("compiler", compiler_identity(cxx)), ("flags", options + link)]
    # libraries to link must follow the source file
    command = (cxx, *options, "-o", "{out}", str(KERNEL_DIR / spec.source), *link)
    return BuildPlan(name, command, tuple(parts)), None


def self_check(library):
    """(True, message) if the library loads and its I3dSelfCheck passes, in a child process."""
    try:
        done = subprocess.run([sys.executable, "-c", CHECK_SCRIPT, str(library)], capture_output=True, text=True,
                              timeout=CHECK_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        return False, f"its self-check did not finish in {CHECK_TIMEOUT_S} s"
    message = done.stdout.strip() or (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
    if done.returncode == 0:
        return True, message
    if done.returncode < 0:
        return False, f"it crashed in its self-check (signal {-done.returncode})"
    if done.returncode == 1:
        return False, f"it cannot be loaded ({message[-300:]})"
    return False, f"its self-check failed: {message}"


def _stamp(library):
    return library.with_name(library.name + ".checked")


def checked(library):
    """The self-check message recorded for this exact file, or None (never checked, or file changed)."""
    try:
        record = json.loads(_stamp(library).read_text())
        return record["message"] if record["sha256"] == file_sha256(library) else None
    except (OSError, ValueError, KeyError):
        return None


def record_check(library, message):
    stamp = _stamp(library)
    with tempfile.NamedTemporaryFile("w", dir=stamp.parent, delete=False, suffix=".tmp") as f:
        json.dump({"sha256": file_sha256(library), "message": message}, f)
    os.replace(f.name, stamp)


def compile_into(plan, directory):
    """Compile into `directory`; (path, None) or (None, compiler's message)."""
    out = Path(directory) / plan.library.name
    command = [part.replace("{out}", str(out)) for part in plan.command]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return None, f"it did not compile ({done.stderr.strip()[-400:]})"
    return out, None


def obtain(plan):
    """(library, check message, how) for a checked library, or (None, why, None). A cached library that
    fails to load or check is replaced by a fresh build; concurrent builders never see a partial file."""
    library = plan.library
    if library.exists():
        message = checked(library)
        if message is not None:
            return library, message, "cached"
        ok, message = self_check(library)
        if ok:
            record_check(library, message)
            return library, message, "cached, checked"
        library.unlink(missing_ok=True)
        rebuilt = f"rebuilt: the cached one failed ({message})"
    else:
        rebuilt = "built"
    library.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=library.parent) as tmp:
        partial, why_not = compile_into(plan, tmp)
        if partial is None:
            return None, why_not, None
        ok, message = self_check(partial)
        if not ok:
            return None, message, None
        os.replace(partial, library)
    record_check(library, message)
    return library, message, rebuilt


def unavailable(name, why):
    message = f"CPU kernel {name} ({KERNELS[name].source}) unavailable: {why}; using {KERNELS[name].fallback}"
    if strict_kernels():
        raise KernelUnavailable(f"{message} [{STRICT_VAR}=1 makes this an error]")
    warn_once(message)
    return None


def kernel_library(name):
    """Path of the checked library of kernel `name` (a KERNELS key), or None where the network must use
    MindSpore's operator (one warning says why). Built or found once per process, with one line saying where."""
    if name in _ready:
        return _ready[name]
    plan, why_not = build_plan(name)
    if plan is None:
        library = unavailable(name, why_not)
    else:
        library, message, how = obtain(plan)
        if library is None:
            library = unavailable(name, message)
        else:
            print(f"CPU kernel {name}: {library} ({how}; {message})", file=sys.stderr, flush=True)
    _ready[name] = library
    return library


def prepare_cpu_kernels():
    """The explicit build step: every kernel built (or found) and checked; {name: path or None}."""
    return {name: kernel_library(name) for name in KERNELS}


def conv_kernel_buildable():
    """Whether the convolution kernel can be built (or is): a compiler and oneDNN's library. Cheap, and
    loads nothing, so it can run before MindSpore's first op (src/backend/runtime.py)."""
    if "conv3d" in _ready:
        return _ready["conv3d"] is not None
    return compiler() is not None and onednn_library()[0] is not None


def main():
    """make kernels: build and check every kernel now; exit 1 if one is unavailable (the warning says why)."""
    try:
        libraries = prepare_cpu_kernels()
    except KernelUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0 if all(libraries.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
