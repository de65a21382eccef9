"""MindSpore's log without the deprecation lines of primitives whose suggested substitute cannot be used
here: they would tell every user of a command to change code that is not theirs.

MindSpore 2.10 logs, once per process, "'<Primitive>' is deprecated from version ... use '<other>'" when
such a primitive is built. Two are built by training and by every command that builds the network:
UniformReal (the seeded dropout's mask; its substitute mindspore.mint.rand has no CPU kernel in 2.10) and
FusedSparseAdam (built inside nn.Adam for sparse gradients, which this network never has). Other
messages pass untouched.
"""
import contextlib
import logging
import os


class _DropDeprecations(logging.Filter):
    def __init__(self, names):
        super().__init__()
        self.needles = tuple(f"'{name}' is deprecated" for name in names)

    def filter(self, record):
        message = record.getMessage()
        return not any(needle in message for needle in self.needles)


@contextlib.contextmanager
def without_deprecation_lines(*names):
    """Within the block, MindSpore's deprecation lines for the primitives `names` are dropped (the logger
    is the one mindspore/log.py sets up, named 'ME.mindspore.log.<pid>'); the filter goes on exit."""
    logger = logging.getLogger(f"ME.mindspore.log.{os.getpid()}")
    quiet = _DropDeprecations(names)
    logger.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)
