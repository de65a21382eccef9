"""i3d-mindspore: two-stream I3D (Carreira & Zisserman, CVPR 2017) in MindSpore."""
