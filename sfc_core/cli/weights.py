"""Published checkpoints: list them, download and verify them.

    sfc-weights list               # registered checkpoints, cached or not
    sfc-weights download x3d_s     # fetch (with a progress bar) and print its SHA-256

Where they are cached and how each is verified: `sfc_core.weights`.
"""

from __future__ import annotations

import sys

from ..models import get_config, list_models
from ..weights import backbone_weights, is_cached, sha256_of, verification
from . import command_parser, progress_bar, user_errors_exit_2


@user_errors_exit_2
def main(argv: list[str] | None = None) -> int:
    parser = command_parser("sfc-weights", __doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="registered checkpoints and whether they are cached")
    download = sub.add_parser("download", help="download and verify registered checkpoints",
                              formatter_class=parser.formatter_class)
    download.add_argument("names", nargs="+", choices=[n for n in list_models() if get_config(n).weights])
    args = parser.parse_args(argv)
    if args.command == "list":
        for name in list_models():
            spec = get_config(name).weights
            if spec is not None:
                state = "cached" if is_cached(spec) else "not downloaded"
                print(f"{name:14s} {state:15s} {verification(spec):58s} {spec.url}")
        return 0
    for name in args.names:
        path = backbone_weights(name, progress=progress_bar(name))
        print(f"{name}: {path} sha256={sha256_of(path)} size={path.stat().st_size}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
