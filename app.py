"""SFC Studio: build the Gradio app and launch it.

    python app.py [--host 127.0.0.1] [--port 7860] [--share]

GRADIO_SERVER_NAME / GRADIO_SERVER_PORT are respected when the flags are not given.
"""

from __future__ import annotations

import argparse

import gradio as gr

from app.config import LIMITS
from app.ui import build_demo

THEME = gr.themes.Default(text_size="lg")  # readable on a classroom projector
CSS = ".gradio-container {max-width: 1500px !important}"


def main() -> None:
    parser = argparse.ArgumentParser(description="SFC Studio web app")
    parser.add_argument("--host", default=None, help="default: $GRADIO_SERVER_NAME or 127.0.0.1")
    parser.add_argument("--port", type=int, default=None, help="default: $GRADIO_SERVER_PORT or 7860")
    parser.add_argument("--share", action="store_true", help="also open a public Gradio share link")
    args = parser.parse_args()
    build_demo().launch(
        server_name=args.host,
        server_port=args.port,
        share=args.share,
        max_file_size=LIMITS.max_upload_bytes,
        theme=THEME,
        css=CSS,
    )


if __name__ == "__main__":
    main()
