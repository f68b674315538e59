"""PhotoClip: a local photo organizer that understands pictures (CLIP search, similar photos)."""
