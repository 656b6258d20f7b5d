"""SFC Studio's entry point in a source checkout (and on Hugging Face Spaces): `python app.py`.

Installed with pip, the same app is the `sfc-studio` command.
"""

from app.launch import main

if __name__ == "__main__":
    main()
