"""i3d-mindspore: two-stream I3D (Carreira & Zisserman, CVPR 2017) in MindSpore."""
from src.backend.runtime import prefer_fast_cpu_kernels

# Before any MindSpore op can run (see src/backend/runtime.py): a no-op where the user already set it.
prefer_fast_cpu_kernels()
