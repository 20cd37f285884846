"""Which hidden units are switched off, per network (A and B), for the whole window.

A unit of network A has nothing to do with the unit of the same number in network B (they were
trained apart), so silencing is per network: clicking a unit in the network view silences that
unit of the network shown there; the Draw view recomputes both networks' bars at once (B, left
intact, is the control), and Evaluate scores each network without its silenced units.

Units are ``(layer, unit)`` pairs, hidden layers counted from 1 as ``Network.keep_masks`` reads
them. A side's silenced units belong to the model chosen for it: when the pair puts another model
on that side, the side starts again with every unit on.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from digitlab.gui.model_pair import SIDES, ModelPair

__all__ = ["SilencedUnits", "describe_units"]


def describe_units(units) -> str:
    """``"layer 1 unit 3, layer 2 unit 0"`` (units numbered from 0, as the network view shows)."""
    return ", ".join(f"layer {layer} unit {unit}" for layer, unit in sorted(units))


class SilencedUnits(QObject):
    """The silenced hidden units of networks A and B.

    Signals
    -------
    changed(str)
        The silenced units of side "A" or "B" changed (a unit switched off or on, a reset, or that
        side's model changed).
    """

    changed = Signal(str)

    def __init__(self, pair: ModelPair, parent: QObject | None = None):
        super().__init__(parent)
        self.pair = pair
        self._units: dict[str, set[tuple[int, int]]] = {s: set() for s in SIDES}
        self._entries = {s: pair.entry(s) for s in SIDES}
        pair.changed.connect(self._on_pair_changed)

    def units(self, side: str) -> tuple[tuple[int, int], ...]:
        """The silenced ``(layer, unit)`` of ``side``, sorted (empty when every unit works)."""
        return tuple(sorted(self._units[side.upper()]))

    def is_silenced(self, side: str, layer: int, unit: int) -> bool:
        return (int(layer), int(unit)) in self._units[side.upper()]

    def count(self) -> int:
        """Silenced units of both networks together."""
        return sum(len(u) for u in self._units.values())

    def set_silenced(self, side: str, layer: int, unit: int, silenced: bool) -> None:
        """Switch one unit of ``side`` off (``silenced``) or back on. The unit must exist in the
        side's network (ValueError naming it otherwise)."""
        side = side.upper()
        entry = self.pair.entry(side)
        if entry is None:
            raise ValueError(f"network {side} is not chosen: choose a model before silencing its units")
        key = (int(layer), int(unit))
        entry.network.keep_masks([key])          # raises ValueError naming a unit that does not exist
        units = self._units[side]
        if (key in units) == bool(silenced):
            return
        if silenced:
            units.add(key)
        else:
            units.discard(key)
        self.changed.emit(side)

    def toggle(self, side: str, layer: int, unit: int) -> bool:
        """Switch a unit off if it works, on if it is off; returns whether it is now silenced."""
        now = not self.is_silenced(side, layer, unit)
        self.set_silenced(side, layer, unit, now)
        return now

    def reset(self, side: str | None = None) -> None:
        """Every unit of ``side`` (both networks when None) back on."""
        for s in SIDES if side is None else (side.upper(),):
            if self._units[s]:
                self._units[s].clear()
                self.changed.emit(s)

    def _on_pair_changed(self) -> None:
        for s in SIDES:
            entry = self.pair.entry(s)
            if entry is not self._entries[s]:
                self._entries[s] = entry
                if self._units[s]:
                    self._units[s].clear()
                    self.changed.emit(s)
