"""Where a request's peak memory goes: the tensors alive when their total peaked, by the stage of the
request that made them (decode and preprocessing, the head, the SFC module, the tail; dense sampling's
network), and what the peak holds beside tensors (the video decoder, Python objects, allocator slack).

Each stage is named with `stage(name)` where the work happens; the innermost open stage owns the
tensors made inside it. `TensorBytes` sees every tensor an operator returns on the measured device (a
`TorchDispatchMode`, in the calling thread), counts each new storage once (a view or an in-place result
only adds a holder to a storage already counted; a view of memory the request did not make, such as a
weight or a NumPy array, is not counted), and drops it when the last tensor on it is freed, so the
composition at the peak says which stage's tensors were still held, not which stage freed what.
"""

from __future__ import annotations

import threading
import weakref
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

# what a breakdown's keys mean, in the order a stacked picture of a peak draws them (bottom to top)
STAGES = {
    "other": "beside tensors: the video decoder, Python objects, allocator slack",
    "input": "decoded and preprocessed frames",
    "network": "the whole network's activations (dense sampling)",
    "head": "the head's activations and its output, block by block",
    "sfc_module": "the SFC module: what it keeps of the head's output, its selection and attention",
    "tail": "the tail's activations",
    "model": "other model work",
}
OTHER = "other"
_STAGES = threading.local()


def current_stage() -> str:
    stack = getattr(_STAGES, "stack", None)
    return stack[-1] if stack else "model"


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Tensors made inside this block (and not inside an inner stage) belong to `name`."""
    stack = _STAGES.__dict__.setdefault("stack", [])
    stack.append(name)
    try:
        yield
    finally:
        stack.pop()


def staged(items: Iterable, name: str) -> Iterator:
    """`items` with each item produced inside `stage(name)`: a generator's work (the head's chunks) is
    charged to it, and the consumer's work between items to the consumer's stage."""
    iterator = iter(items)
    while True:
        with stage(name):
            try:
                item = next(iterator)
            except StopIteration:
                return
        yield item
        del item  # the next item is made without this one held here


class TensorBytes(TorchDispatchMode):
    """While active: the bytes of every tensor storage alive, by stage; `at_peak` is the composition when
    their total was highest. A freed tensor is only noted when it goes (`_freed`, appended from the
    garbage collector's callback) and counted off before the next operator's outputs are counted on."""

    def __init__(self, device: torch.device) -> None:
        super().__init__()
        self.device_type = device.type  # the peak it splits is this device's (CUDA: the allocator's)
        self._live: dict[int, list] = {}  # storage address -> [bytes, stage, tensors alive on it]
        self._watching: dict[int, tuple[weakref.ref, int]] = {}  # id of a tensor's weakref -> (it, storage address)
        self._freed: list[weakref.ref] = []
        self._by_stage: Counter[str] = Counter()  # bytes alive now, by stage
        self._total = 0
        self._peak = 0
        self.at_peak: dict[str, int] = {}
        self._aliases: dict = {}  # operator -> whether each of its results aliases an input (views, in-place, out=)

    @property
    def peak_bytes(self) -> int:
        return self._peak

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        self._count_off_freed()
        aliases = self._aliases.get(func)
        if aliases is None:
            aliases = self._aliases[func] = [result.alias_info is not None for result in func._schema.returns]
        outputs = out if isinstance(out, tuple | list) and len(aliases) > 1 else [out]
        for result, alias in zip(outputs, aliases or [False]):
            for tensor in tree_leaves(result):
                if isinstance(tensor, torch.Tensor) and tensor.device.type == self.device_type:
                    self._track(tensor, new=not alias)
        if self._total > self._peak:
            self._peak, self.at_peak = self._total, {name: size for name, size in self._by_stage.items() if size}
        return out

    def _track(self, tensor: torch.Tensor, new: bool) -> None:
        """Count `tensor`'s storage on (`new`: an operator made it) or add a holder to it."""
        storage = tensor.untyped_storage()
        address = storage.data_ptr()
        entry = self._live.get(address)
        if entry is None:
            if not (new and address):
                return
            entry = self._live[address] = [storage.nbytes(), current_stage(), 0]
            self._total += entry[0]
            self._by_stage[entry[1]] += entry[0]
        entry[2] += 1
        ref = weakref.ref(tensor, self._freed.append)
        self._watching[id(ref)] = (ref, address)

    def _count_off_freed(self) -> None:
        while self._freed:
            _, address = self._watching.pop(id(self._freed.pop()))
            entry = self._live.get(address)
            if entry is not None:
                entry[2] -= 1
                if entry[2] == 0:
                    self._total -= entry[0]
                    self._by_stage[entry[1]] -= entry[0]
                    del self._live[address]


def breakdown(tensors: dict[str, int], peak_bytes: int) -> dict[str, int]:
    """The peak as stages' tensors plus `OTHER` (the peak minus the tensors, never below zero)."""
    return {**tensors, OTHER: max(0, peak_bytes - sum(tensors.values()))}
