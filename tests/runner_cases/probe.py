"""What a program sees of how it was started: its module, sys, and the stack below it."""

import builtins
import inspect
import json
import sys
import types


def described(value):
    return None if value is None else f"{type(value).__name__}:{getattr(value, 'name', '')}"


def main_function():
    return "the source of a function in __main__ can be read"


main = sys.modules["__main__"]
spec = globals().get("__spec__")
print(
    json.dumps(
        {
            "name": __name__,
            "file": globals().get("__file__"),
            "cached": globals().get("__cached__"),
            "package": __package__,
            "doc": __doc__,
            "spec": None if spec is None else [spec.name, spec.origin, spec.parent, type(spec.loader).__name__],
            "loader": type(globals().get("__loader__")).__name__,
            "builtins_is_module": isinstance(__builtins__, types.ModuleType) and __builtins__ is builtins,
            "main_is_this_module": main.__dict__ is globals() and isinstance(main, types.ModuleType),
            "argv": sys.argv,
            "orig_argv": getattr(sys, "orig_argv", None),
            "path0": sys.path[0],
            "executable": sys.executable,
            "flags": str(sys.flags),
            "warnoptions": sys.warnoptions,
            "xoptions": sorted(sys._xoptions.items()),
            "stack_depth": len(inspect.stack()),
            "frame_below_module": sys._getframe(0).f_back is not None,
            "getsource": inspect.getsource(main_function).splitlines()[0],
            "stdin_isatty": sys.stdin is not None and sys.stdin.isatty(),
            "runpy_imported": "runpy" in sys.modules,
        },
        indent=1,
    )
)
