"""Building and loading the project's C++ CPU kernels (src/backend/kernels/*.cc, run through ops.Custom "aot").

Why: two of MindSpore 2.10's CPU paths cost an I3D train step most of its time (the max-pool gradient,
and convolutions that oneDNN can only run as im2col+gemm in MindSpore's plain layouts); small C++
kernels replace them (src/backend/max_pool.py, src/backend/conv3d.py). Each is compiled with g++ on first use into a
per-user cache, named by a hash of its source and build command, so an edited kernel or another
MindSpore/oneDNN install builds anew. Where a kernel cannot be built (no compiler, no headers) or the
device is not the CPU, the network uses MindSpore's own operator; results agree to float rounding.
"""
import hashlib
import importlib.util
import os
import shutil
import subprocess
import tempfile
import warnings
from pathlib import Path

KERNEL_DIR = Path(__file__).resolve().parent / "kernels"
_built = {}
_warned = set()


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
        warnings.warn(message)


def package_dir(name):
    """Folder of an installed package, found without importing it (importing torch takes seconds)."""
    spec = importlib.util.find_spec(name)
    return Path(next(iter(spec.submodule_search_locations))) if spec and spec.submodule_search_locations else None


def onednn_flags():
    """g++ flags to build against MindSpore's own oneDNN (lib/libdnnl.so.3), or (None, why not).

    MindSpore ships the library but not its headers; the torch wheel ships oneDNN 3.x headers, whose C
    API the 3.x library keeps (checked by tests/test_conv3d.py against MindSpore's own Conv3D).
    """
    mindspore = package_dir("mindspore")
    if mindspore is None:
        return None, "MindSpore is not installed"
    mindspore_lib = mindspore / "lib"
    library = mindspore_lib / "libdnnl.so.3"
    if not library.is_file():
        return None, f"{library} not found"
    torch = package_dir("torch")
    include = torch / "include" if torch else None
    if include is None or not (include / "oneapi" / "dnnl" / "dnnl.hpp").is_file():
        return None, "oneDNN headers not found (they come with the torch wheel in requirements.txt)"
    return ["-std=c++17", f"-I{include}", str(library), f"-Wl,-rpath,{mindspore_lib}"], None


def conv_kernel_buildable():
    """Whether the convolution kernel can be built (or is): a compiler and oneDNN's library and headers.
    Cheap, and imports nothing, so it can run before MindSpore's first op (src/backend/runtime.py)."""
    return compiler() is not None and onednn_flags()[0] is not None


def build_kernel(source_name, extra_flags=(), purpose=""):
    """Path of the compiled library for src/backend/kernels/<source_name>, or None (with a warning) if it cannot
    be built. Built once per source and flags; concurrent builders never see a partial file."""
    key = (source_name, tuple(extra_flags))
    if key in _built:
        return _built[key]
    source = KERNEL_DIR / source_name
    cxx = compiler()
    options = ["-O3", "-shared", "-fPIC", "-pthread"]
    digest = hashlib.sha256(source.read_bytes() + "\0".join(options + list(extra_flags)).encode()).hexdigest()[:16]
    library = kernel_cache_dir() / f"{source.stem}_{digest}.so"
    if not library.exists() and cxx:
        library.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=library.parent) as tmp:
            partial = Path(tmp) / library.name
            # extra_flags may name libraries, which must follow the source file
            done = subprocess.run([cxx, *options, "-o", str(partial), str(source), *extra_flags],
                                  capture_output=True, text=True, check=False)
            if done.returncode == 0:
                os.replace(partial, library)
            else:
                warn_once(f"{source_name} did not compile ({done.stderr.strip()[:300]}); {purpose}")
    _built[key] = library if library.exists() else None
    return _built[key]
