"""SFC Studio core library: Selective Feature Compression for efficient action recognition.

Modules: video (probe/decode), sampling (dense and SFC plans), transforms (preprocessing),
models (backbones, registry, head/tail split), sfc (the SFC module), pipeline (recognizers),
profiling (time, memory, FLOPs), predict (CLI).
"""

__version__ = "0.1.0"
