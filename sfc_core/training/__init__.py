"""Training: SFC with the backbone frozen (`sfc_trainer`, from the targets in `targets`, resumable
through `checkpoint`, one process or many through `distributed`), and a SynthActions backbone (`backbone`).
The objective SFC minimises lives beside the module, in `sfc_core.objective`."""
