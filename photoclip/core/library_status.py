"""What `photoclip status` shows, read from the catalog and the index file's manifest
without loading the model or the index."""

from __future__ import annotations

from .catalog.store import Catalog
from .models import FolderStatus, LibraryStatus
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
