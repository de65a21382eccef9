"""Process-wide MindSpore setup: the CPU speed switch, execution mode and device.

MindSpore 2.10's own Conv3D hands oneDNN plain NCDHW tensors, and on CPUs with AVX-512 oneDNN then
picks a 25-140x slower convolution kernel; capping oneDNN's ISA at AVX2 restores its fast gemm kernel.
The network's convolutions normally run in the project's kernel (src/backend/conv3d.py), which lets oneDNN
choose blocked layouts and is fastest uncapped (AVX-512 kernels where the CPU has them). So the cap is
set where MindSpore's Conv3D does the work: the kernel cannot be built here, or an exported MINDIR
runs. oneDNN reads the variable when it creates its first primitive, so the choice is made before the
first MindSpore op (`import src` guesses from whether the kernel is buildable; configure() builds and
checks the kernels first, then decides), and a user's own ONEDNN_MAX_CPU_ISA always wins.
"""
import os

ONEDNN_ISA_VAR = "ONEDNN_MAX_CPU_ISA"
ONEDNN_ISA_VALUE = "AVX2"

CONTEXT_MODES = {"gr": "GRAPH_MODE", "py": "PYNATIVE_MODE"}
DEVICE_TARGETS = ("CPU", "GPU", "Ascend")


def prefer_fast_cpu_kernels(mindspore_convolutions=None):
    """Set ONEDNN_MAX_CPU_ISA=AVX2 where MindSpore's own Conv3D will run the convolutions (None: unless
    the project's convolution kernel can be built here), never over the user's value; returns the value
    in force (None: oneDNN's best)."""
    if ONEDNN_ISA_VAR not in os.environ:
        if mindspore_convolutions is None:
            from src.backend.cpu_kernels import conv_kernel_buildable

            mindspore_convolutions = not conv_kernel_buildable()
        if mindspore_convolutions:
            os.environ[ONEDNN_ISA_VAR] = ONEDNN_ISA_VALUE
    return os.environ.get(ONEDNN_ISA_VAR)


def prepare_cpu():
    """The CPU setup, before MindSpore's first op: the project's C++ kernels built (or found) and checked
    (one line each, src/backend/cpu_kernels.py), then the ISA cap where MindSpore's own Conv3D will run after all."""
    from src.backend.cpu_kernels import prepare_cpu_kernels

    libraries = prepare_cpu_kernels()
    return prefer_fast_cpu_kernels(mindspore_convolutions=libraries["conv3d"] is None)


def configure(device_target="CPU", context="gr", device_id=None, seed=None):
    """Set MindSpore's execution mode (`gr` GRAPH, `py` PYNATIVE), device and optional global seed.

    device_target None keeps the device the installed MindSpore package runs on. Returns the target.
    """
    if device_target is None:
        device_target = installed_device_target()
    if device_target not in DEVICE_TARGETS:
        raise ValueError(f"--device_target must be one of {DEVICE_TARGETS}, got {device_target!r}")
    if context not in CONTEXT_MODES:
        raise ValueError(f"--context must be 'gr' (GRAPH) or 'py' (PYNATIVE), got {context!r}")
    if device_target == "CPU":
        prepare_cpu()
    import mindspore as ms

    ms.set_context(mode=getattr(ms, CONTEXT_MODES[context]))
    try:
        if device_id is None or device_target == "CPU":
            ms.set_device(device_target)
        else:
            ms.set_device(device_target, int(device_id))
    except RuntimeError:
        # MindSpore's runtime already runs (a second configure in one process, e.g. a plan made after other
        # work): fine where it runs on this device; another device cannot be chosen any more.
        if ms.get_context("device_target") != device_target:
            raise
    if seed is not None:
        ms.set_seed(int(seed))
    return device_target


def installed_device_target():
    """The backend MindSpore picks by default (CPU for the PyPI CPU build; GPU/Ascend where installed)."""
    prefer_fast_cpu_kernels()  # harmless where the answer is not CPU; must precede the first op
    import mindspore as ms

    return ms.get_context("device_target")
