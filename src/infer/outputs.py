"""Where predict.py and extract_features.py write: the project-wide output-path rule (src/common/atomic.py:
exactly the path given, a suffix only for a bare name, never onto or inside an input), plus what these
tools add: an allowed suffix per output and the folder checked writable, all when the plan is made."""
from src.common import atomic
from src.common.atomic import OutputError, writable_folder


def output_file(path, flag, suffix, inputs, allowed=None, say=print):
    """The file a tool will write for `flag PATH`, or None without PATH; `inputs` is {flag: path} (None
    values ignored). Every refusal is an OutputError naming the flag."""
    if path is None:
        return None
    out = atomic.output_file(path, suffix, flag, say)
    if allowed is not None and out.suffix.lower() not in allowed:
        raise OutputError(f"{flag} {path}: the file name must end in one of {', '.join(allowed)}")
    refuse_overlap(out, flag, inputs)
    writable_folder(out.parent, flag)
    return str(out)


def refuse_overlap(out, flag, inputs):
    """`out` (file or folder) must be none of `inputs` ({flag: path}) and lie inside none of them."""
    atomic.refuse_overlap([(f, p) for f, p in inputs.items() if p is not None], [(flag, out)])
