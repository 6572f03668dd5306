"""One-line answers for the Python tools, as the C++ CLI gives them: every error is one line on
stderr, "TOOL: error: ...", with control characters escaped; bad arguments exit 2 (argparse's
usage block is not printed), bad input 1, and an error of ours 3 ("internal error"), never a
traceback.

    ap = tool_errors.ArgumentParser(prog="export_fx", description=...)
    if __name__ == "__main__":
        tool_errors.run(main, "export_fx")
"""
import argparse
import math
import sys


def one_line(text):
    """`text` on one line: newlines, tabs and other control characters written as escapes."""
    out = []
    for c in str(text):
        if c == "\n":
            out.append("\\n")
        elif c == "\t":
            out.append("\\t")
        elif c == "\r":
            out.append("\\r")
        elif ord(c) < 0x20 or ord(c) == 0x7F:
            out.append(f"\\x{ord(c):02X}")
        else:
            out.append(c)
    return "".join(out)


def root_cause(error):
    """The error at the bottom of what raised it (a model's own error, under what torch.fx wrapped
    it in)."""
    while error.__cause__ is not None or error.__context__ is not None:
        error = error.__cause__ if error.__cause__ is not None else error.__context__
    return error


class ArgumentParser(argparse.ArgumentParser):
    """argparse with a one-line error and exit 2 on bad arguments."""

    def error(self, message):
        print(f"{self.prog}: error: {one_line(message)} (see {self.prog} --help)", file=sys.stderr)
        sys.exit(2)


def positive_finite(text):
    """An argparse type: a finite number above 0 (no nan, no inf)."""
    try:
        x = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not math.isfinite(x) or x <= 0:
        raise argparse.ArgumentTypeError(f"'{text}' must be a finite number above 0")
    return x


def shape(text):
    """An argparse type: a comma-separated shape of whole numbers, each at least 1."""
    try:
        dims = [int(x) for x in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a comma-separated list of whole numbers") from None
    if not dims or any(d < 1 for d in dims):
        raise argparse.ArgumentTypeError(f"'{text}': every dimension must be at least 1")
    return dims


def run(main, tool):
    """Runs main() and turns what escapes it into one line: an OSError (a file that cannot be read
    or written) exits 1, anything else is an internal error (exit 3)."""
    try:
        code = main()
    except KeyboardInterrupt:
        sys.exit(130)
    except SystemExit as e:
        if isinstance(e.code, str):
            print(one_line(e.code), file=sys.stderr)
            sys.exit(1)
        raise
    except OSError as e:
        where = f"{e.filename}: " if getattr(e, "filename", None) else ""
        print(f"{tool}: error: {one_line(where + (e.strerror or str(e)))}", file=sys.stderr)
        sys.exit(1)
    except Exception as e:  # noqa: BLE001 - the last resort: one line, not a traceback
        print(f"{tool}: error: internal error: {type(e).__name__}: {one_line(e)}", file=sys.stderr)
        sys.exit(3)
    sys.exit(code or 0)
