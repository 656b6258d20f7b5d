"""Build the Gradio app and serve it (`sfc-studio`, or `python app.py` in a checkout).

    sfc-studio [--host 127.0.0.1] [--port 7860] [--share]

GRADIO_SERVER_NAME / GRADIO_SERVER_PORT are respected when the flags are not given.
"""

from __future__ import annotations

import argparse
import logging

import gradio as gr

from .config import LIMITS
from .ui import build_demo

THEME = gr.themes.Default(text_size="lg")  # readable on a classroom projector
CSS = """
.gradio-container {max-width: 1500px !important}
/* galleries grow with their pictures: gradio's "auto" height still caps them at 55% of the screen */
#thumbnails .fixed-height, #moments .fixed-height, #heatmaps .fixed-height, #over-time .fixed-height
  {max-height: none !important; min-height: 0 !important}
/* the walk-through's figure keeps its place while the steps change */
#walk-figure {min-height: 340px}
"""


def launch_options() -> dict:
    """What every launch of the page passes (the command, and the tests that look at the page)."""
    return {"max_file_size": LIMITS.max_upload_bytes, "theme": THEME, "css": CSS}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sfc-studio", description="SFC Studio web app")
    parser.add_argument("--host", default=None, help="default: $GRADIO_SERVER_NAME or 127.0.0.1")
    parser.add_argument("--port", type=int, default=None, help="default: $GRADIO_SERVER_PORT or 7860")
    parser.add_argument("--share", action="store_true", help="also open a public Gradio share link")
    args = parser.parse_args(argv)
    # one line per refused request (WARNING), a traceback only for a bug (ERROR)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    build_demo().launch(
        server_name=args.host,
        server_port=args.port,
        share=args.share,
        **launch_options(),
    )
    return 0
