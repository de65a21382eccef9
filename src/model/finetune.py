"""Fine-tuning selection: which layers train, and freezing the rest for real.

A frozen unit gets no gradient, is not given to the optimizer, and its BatchNorm normalises with the
stored statistics without updating them (in training mode it would overwrite the pretrained statistics
with those of the small fine-tuning batches).
"""
from src.common.errors import UserError


class FinetuneError(UserError, ValueError):
    """A --finetune_prefixes value that selects nothing (or not what it says); the message names it."""


def parse_prefixes(text):
    prefixes = tuple(p.strip() for p in text.split(",") if p.strip())
    if not prefixes:
        raise FinetuneError("--finetune_prefixes is empty: nothing would be trained")
    return prefixes


def freeze_all_but(net, prefixes, batch_statistics=False):
    """Freeze every Unit3D whose endpoint does not start with one of `prefixes`; returns trainable params.

    batch_statistics: frozen BN keeps normalising with batch statistics (arch original, src/model/arch.py).
    Every prefix must select a layer: a typo among them would silently freeze what it meant to train."""
    unmatched = [p for p in prefixes if not any(endpoint.startswith(p) for endpoint in net.endpoints)]
    if unmatched:
        raise FinetuneError(f"--finetune_prefixes: {', '.join(map(repr, unmatched))} matches no layer "
                         f"(endpoints: {', '.join(net.endpoints)})")
    for endpoint, unit in net.units():
        if not endpoint.startswith(prefixes):
            unit.freeze(batch_statistics)
    trainable = net.trainable_params()
    if not trainable:
        raise FinetuneError(f"--finetune_prefixes {','.join(prefixes)} matches no layer "
                         f"(endpoints: {', '.join(net.endpoints)})")
    return trainable
