"""Export a model for inference outside PyTorch: ONNX files or OpenVINO IR, with a manifest.

    sfc-export tiny --format onnx --out exported/tiny            # the embedded model and its trained SFC
    sfc-export x3d_s --format openvino --out exported/x3d_s      # published weights, training-free SFC

Four artifacts (dense sampling's network; SFC's head, module and tail) and manifest.json (input specs,
split, kept positions, labels, provenance, each file's SHA-256). What each artifact takes and returns:
`sfc_core.export`. Needs the `export` extra: pip install ".[export]" in a checkout.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ..export import FORMATS, MANIFEST, export
from . import command_parser, user_errors_exit_2
from .model_args import add_model_arguments, load_from_args


@user_errors_exit_2
def main(argv: list[str] | None = None) -> int:
    parser = command_parser("sfc-export", __doc__.split("\n\n")[0])
    add_model_arguments(parser, model_positional=True)
    parser.add_argument("--format", choices=FORMATS, default="onnx", help="ONNX files, or OpenVINO IR (.xml/.bin)")
    parser.add_argument("--out", type=Path, required=True, help="folder for the artifacts and the manifest")
    args = parser.parse_args(argv)
    manifest = export(load_from_args(args), args.out, args.format)
    for name, artifact in manifest["artifacts"].items():
        print(f"{name:9s} {', '.join(artifact['files'])}  inputs {artifact['inputs']}")
    print(f"wrote {args.out / MANIFEST} ({args.format}; SFC {manifest['provenance']['sfc']['describe']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
