"""Errors that mean "the user's input is wrong", as opposed to bugs.

Every command prints a UserError as one line naming the file or flag and exits with status 2;
anything else is an internal error and keeps its traceback.
"""


class UserError(Exception):
    """A flag, file or folder the user gave that cannot be used; the message names it."""


class VideoReadError(UserError, RuntimeError):
    """A video/GIF/frame folder that cannot be decoded; the message names the path and the reason."""

    def __init__(self, path, reason):
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


def run_command(prog, main):
    """Run a command's main(); a user error (or an unreadable/unwritable file) ends with one line
    `prog: message` and exit status 2, anything else keeps its traceback."""
    import sys

    try:
        return main()
    except (UserError, OSError, ValueError) as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2
