"""Keeping the library in step with the disk while the app runs.

``watcher`` turns watchdog events into changes; ``change_queue`` debounces and orders them
(a move waits for the deletes under it); ``apply_changes`` applies a batch to the catalog
and index; ``reconcile`` compares a folder with the catalog after a gap; ``worker`` is the
background thread that owns the single writer.

May import: ``catalog``, ``files``, ``search``, ``clip``, the top-level modules.
"""
