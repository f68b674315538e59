"""Whether a model's weights are already on this computer, in the Hugging Face cache.

open_clip fetches hub-hosted weights with ``hf_hub_download`` into huggingface_hub's
cache (HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub), at the repo's
``main`` revision; ``download.fetch`` puts them in the same place. huggingface_hub's
own ``try_to_load_from_cache`` answers from that folder alone (refs/main, then
snapshots/<revision>/<file>): no network, no open_clip import. A partial download sits
in blobs/ as ``.incomplete`` and is never in a snapshot, so it does not count.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

log = logging.getLogger(__name__)


def cached_file(repo_id: str, filenames: Sequence[str], cache_dir: Path | None = None) -> Path | None:
    """The first of ``filenames`` cached for ``repo_id`` at ``main`` (``cache_dir``: the hub
    cache, huggingface_hub's own by default), or None when none is."""
    from huggingface_hub import try_to_load_from_cache

    for filename in filenames:
        try:
            found = try_to_load_from_cache(repo_id, filename, cache_dir=cache_dir)
        except (OSError, ValueError) as exc:  # an unreadable cache; a repo id the hub refuses
            log.debug("the Hugging Face cache could not say whether %s/%s is in it: %s",
                      repo_id, filename, exc)
            return None
        if isinstance(found, str):  # else None, or the "known not to exist" marker
            return Path(found)
    return None
