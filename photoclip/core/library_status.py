"""What `photoclip status` shows, read from the catalog and the index file's manifest
without loading the model or the index; and what a run records for it."""

from __future__ import annotations

from .catalog.store import Catalog
from .clip.encoder import Encoder
from .clip.known_models import rate_key
from .models import FolderStatus, IndexProgress, LibraryStatus
from .paths import AppPaths
from .search.vector_index import VectorIndex
from .settings import Settings


def read_status(paths: AppPaths, catalog: Catalog, model_id: str, settings: Settings,
                folders: list[FolderStatus]) -> LibraryStatus:
    # The index's manifest, size and header, not a hash of the whole file (~1.5 s
    # per GB): deeper damage is found, and rebuilt, by the next search or index.
    manifest = VectorIndex.read_manifest(paths.index, thorough=False)
    fresh = (bool(manifest) and manifest.get("model_id") == model_id
             and manifest.get("vector_epoch") == catalog.vector_epoch())
    return LibraryStatus(
        counts=catalog.state_counts(),
        failures=catalog.failures(),
        folders=folders,
        model=model_id,
        device=settings.device,
        last_device=catalog.get_meta("last_device"),
        precision=settings.precision,
        last_precision=catalog.get_meta("last_precision"),
        last_text_precision=catalog.get_meta("last_text_precision"),
        index_size=int(manifest["count"]) if fresh and manifest else None,
        index_bytes=int(manifest["index_bytes"]) if fresh and manifest else None,
        other_model=catalog.count_other_models(model_id),
        trashed=catalog.trash_count(),
        data_dir=paths.data_dir,
    )


RATE_MIN_PHOTOS = 32  # fewer encoded in a run measure the start-up more than the rate


def record_run(catalog: Catalog, encoder: Encoder, done: IndexProgress | None = None) -> None:
    """The device and precisions the last run used, and the photos/s it reached on this
    computer (what the model picker's switching cost is estimated from)."""
    for key, attribute in (("last_device", "device"), ("last_precision", "precision"),
                           ("last_text_precision", "text_precision")):
        value = getattr(encoder, attribute, None)
        if isinstance(value, str) and value != "unloaded":
            catalog.set_meta(key, value)
    if done is not None and done.encoded >= RATE_MIN_PHOTOS and done.elapsed_s > 0:
        catalog.set_meta(rate_key(encoder.model_id), f"{done.encoded / done.elapsed_s:.3f}")
