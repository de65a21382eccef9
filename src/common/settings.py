"""Resolved settings, read-only: what a tool's plan holds instead of the parsed argparse namespace.

Flags, a --config recipe and a resumed run's record are resolved once into one of these; nothing can
change a value afterwards (assignment raises), so what config.json records is what the run used.
"""
from dataclasses import dataclass, field
from types import MappingProxyType


@dataclass(frozen=True)
class Settings:
    """Flag name -> value, read as attributes (`settings.lr`), never written."""

    values: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def of(cls, mapping):
        """From a dict or an argparse Namespace (copied: later changes to the source do not leak in)."""
        return cls(MappingProxyType(dict(vars(mapping) if hasattr(mapping, "__dict__") else mapping)))

    def __getattr__(self, name):
        if name.startswith("__"):  # copy/pickle protocol probes: not settings
            raise AttributeError(name)
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(f"no setting {name!r}") from None

    def replace(self, **changes):
        """A new Settings with `changes` applied (resolution steps build the final one this way)."""
        unknown = sorted(set(changes) - set(self.values))
        if unknown:
            raise KeyError(f"not settings: {', '.join(unknown)}")
        return Settings(MappingProxyType({**self.values, **changes}))

    def as_dict(self):
        return dict(self.values)

    def __reduce__(self):  # MappingProxyType does not pickle; a plain dict does
        return (Settings.of, (dict(self.values),))
