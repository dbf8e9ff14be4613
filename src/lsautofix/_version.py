__version__ = "0.1.0"


def describe() -> str:
    """``lsautofix X, langsmith Y, wrapt Z, Python V``: what ``--version`` and doctor's report say."""
    import sys
    from importlib import metadata

    parts = [f"lsautofix {__version__}"]
    for dist in ("langsmith", "wrapt"):
        try:
            parts.append(f"{dist} {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{dist} (not installed)")
    parts.append(f"Python {sys.version.split()[0]}")
    return ", ".join(parts)
