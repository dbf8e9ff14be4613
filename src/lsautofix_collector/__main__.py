"""``python -m lsautofix_collector [--port N] [--no-zstd] [--no-multipart]``: serve until Ctrl-C."""

from __future__ import annotations

import argparse
import json
import threading

from lsautofix_collector import Collector


def main(argv: list[str] | None = None) -> None:
    """Serve, print the URL and the environment to use, and a summary on Ctrl-C."""
    parser = argparse.ArgumentParser(prog="python -m lsautofix_collector", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    parser.add_argument("--no-zstd", action="store_true", help="tell the SDK not to compress runs")
    parser.add_argument("--no-multipart", action="store_true", help="tell the SDK to use /runs/batch JSON")
    args = parser.parse_args(argv)
    with Collector(args.host, args.port, zstd=not args.no_zstd, multipart=not args.no_multipart) as collector:
        try:  # Ctrl-C may come while the URL is still being printed
            print(f"lsautofix collector listening on {collector.url}", flush=True)
            for key, value in collector.env().items():
                if value:
                    print(f"  export {key}={value}", flush=True)
            threading.Event().wait()
        except KeyboardInterrupt:
            print("\n" + json.dumps(collector.store.summary(), indent=2))
            for tree in collector.store.trees():
                print(tree.render())


if __name__ == "__main__":
    main()
