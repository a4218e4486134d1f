"""``Record``/``FrozenRecord``: value semantics (``==``, ``repr``; ``hash`` when frozen) for small slotted
classes that write their own ``__init__``.

The data classes a handler loads at INIT (settings, step contracts, the scrubber's, ...) use these instead of
``dataclasses``: importing it (with ``inspect``, ``ast``, ``dis``, ``typing``) and generating the methods
cost ~70 M instructions, a third of ``tutela scrub``'s start-up (callgrind), and ~2-5 M per class (each
method is compiled from source; ``slots=True`` builds the class twice), paid by every cold start.
"""

from __future__ import annotations


class Record:
    """Mutable: compared field by field (``__slots__`` order), not hashable, like ``@dataclass(eq=True)``."""

    __slots__: tuple[str, ...] = ()  # a subclass lists its fields here (``__eq__`` makes it unhashable)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(getattr(self, f) == getattr(other, f) for f in self.__slots__)

    def __repr__(self) -> str:
        fields = ", ".join(f"{f}={getattr(self, f)!r}" for f in self.__slots__)
        return f"{type(self).__name__}({fields})"


class FrozenRecord(Record):
    """Not to be changed after ``__init__`` (by convention): hashable by its fields."""

    __slots__: tuple[str, ...] = ()

    def __hash__(self) -> int:
        return hash(tuple(getattr(self, f) for f in self.__slots__))
