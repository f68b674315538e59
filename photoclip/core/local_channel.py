"""The local channel between one user's PhotoClip processes: where its socket lives,
who may talk on it, and what is said (Qt-free, so the CLI can be a client too).

Where the socket lives (``socket_path``): ``$XDG_RUNTIME_DIR`` when it is a real folder
owned by us with mode 0700 (Linux, the BSDs); on macOS the per-user ``$TMPDIR``
(``/var/folders/…/T``) under the same check; otherwise ``<cache dir>/run``, created 0700,
its mode fixed when loose and refused when it is a link or someone else's. Windows uses
a named pipe instead (see ``ui/single_instance.py``).

Who may talk: a POSIX server answers only a peer with our user id and a client talks
only to a socket file owned by us whose listener runs as us. The peer's id comes from
``SO_PEERCRED`` on Linux and ``getpeereid`` (libc) on macOS and the BSDs.

What is said: one JSON object per line, ``{"v": 1, "cmd": ...}`` asked and ``{"v": 1,
"ok": ...}`` answered, at most ``MAX_MESSAGE_BYTES`` a line, within ``READ_TIMEOUT_S``.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import logging
import os
import socket
import stat
import struct
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

PROTOCOL_VERSION = 1
MAX_MESSAGE_BYTES = 64 * 1024
READ_TIMEOUT_S = 2.0
# sun_path holds 108 bytes on Linux and 104 on macOS, the terminating NUL included.
MAX_SOCKET_PATH_BYTES = 103
FALLBACK_FOLDER = "run"
_warned: set[str] = set()


class ChannelError(Exception):
    """The channel can't be used; str() is one line for the user."""


class NoServer(ChannelError):
    """Nothing listens there: no other PhotoClip is running for this library."""


class UnsafeChannel(ChannelError):
    """A folder, socket or peer that is not this user's: refused."""


class ProtocolError(ChannelError):
    """A malformed, oversized or wrong-version message."""


class ChannelTimeout(ChannelError):
    """The other end did not finish its message in time."""


def warn_once(text: str) -> None:
    """Log a refusal once per process: a stranger knocking every second must not flood the log."""
    if text not in _warned:
        _warned.add(text)
        log.warning("%s", text)


def own_uid() -> int:
    return os.geteuid()


# ---- where the socket lives ------------------------------------------------------------

def socket_name(data_dir: Path) -> str:
    """Named after the library's data directory, so two libraries can run side by side."""
    digest = hashlib.sha1(str(data_dir.resolve()).encode()).hexdigest()[:12]
    return f"photoclip-{digest}"


def check_private_folder(folder: Path) -> Path:
    """``folder`` if it is a real directory (not a link), ours, and closed to everyone else."""
    try:
        info = os.lstat(folder)
    except OSError as exc:
        raise UnsafeChannel(f"{folder} can't be used for PhotoClip's socket: {exc.strerror}") from exc
    if not stat.S_ISDIR(info.st_mode):
        raise UnsafeChannel(f"{folder} is not a real folder (a link or a file)")
    if info.st_uid != own_uid():
        raise UnsafeChannel(f"{folder} belongs to another user (uid {info.st_uid})")
    if info.st_mode & 0o077:
        raise UnsafeChannel(f"{folder} is open to other users (mode {stat.S_IMODE(info.st_mode):o})")
    return folder


def ensure_private_folder(folder: Path) -> Path:
    """Our own fallback folder: created 0700; a loose mode is fixed, a link or a stranger's refused."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    folder.mkdir(mode=0o700, exist_ok=True)
    info = os.lstat(folder)
    if stat.S_ISDIR(info.st_mode) and info.st_uid == own_uid() and info.st_mode & 0o077:
        os.chmod(folder, 0o700, follow_symlinks=False)
    return check_private_folder(folder)


def _per_user_folders(environ: Mapping[str, str]) -> list[str]:
    candidates = [environ.get("XDG_RUNTIME_DIR", "")]
    if sys.platform == "darwin":
        candidates.append(environ.get("TMPDIR", ""))  # launchd's per-user /var/folders/…/T
    return [c for c in candidates if c and os.path.isabs(c)]


def socket_folder(cache_dir: Path, environ: Mapping[str, str] | None = None) -> Path:
    """The user's runtime folder when it is safe, else our 0700 folder under the cache dir."""
    for candidate in _per_user_folders(os.environ if environ is None else environ):
        try:
            return check_private_folder(Path(candidate))
        except UnsafeChannel as exc:
            warn_once(f"not using the runtime folder for PhotoClip's socket: {exc}")
    return ensure_private_folder(cache_dir / FALLBACK_FOLDER)


def socket_path(data_dir: Path, cache_dir: Path, environ: Mapping[str, str] | None = None) -> Path:
    """The library's socket; raises ChannelError when no safe place is left."""
    try:
        path = socket_folder(cache_dir, environ) / socket_name(data_dir)
    except OSError as exc:
        raise ChannelError(f"no private folder for PhotoClip's socket: {exc}") from exc
    if len(os.fsencode(path)) > MAX_SOCKET_PATH_BYTES:
        raise ChannelError(f"the socket path {path} is too long for the system")
    return path


# ---- who is at the other end -----------------------------------------------------------

def _uid_of(sock: socket.socket) -> int | None:
    if hasattr(socket, "SO_PEERCRED"):  # Linux: struct ucred {pid, uid, gid}
        creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        return struct.unpack("3i", creds)[1]
    libc = ctypes.CDLL(None, use_errno=True)
    if not hasattr(libc, "getpeereid"):
        return None
    uid, gid = ctypes.c_uint32(), ctypes.c_uint32()
    if libc.getpeereid(sock.fileno(), ctypes.byref(uid), ctypes.byref(gid)) != 0:
        return None
    return uid.value


def peer_uid(fd: int) -> int | None:
    """The user id of the process at the other end of the connected socket ``fd``
    (None when the system can't tell). Works on a duplicate: ``fd`` stays open."""
    try:
        with socket.socket(fileno=os.dup(fd)) as sock:  # closing it closes only the duplicate
            return _uid_of(sock)
    except OSError:
        return None


def check_peer(fd: int) -> None:
    """Refuse (and log once) a peer that is not this user."""
    uid = peer_uid(fd)
    if uid != own_uid():
        who = "an unknown user" if uid is None else f"another user (uid {uid})"
        warn_once(f"refused a PhotoClip socket peer run by {who}")
        raise UnsafeChannel(f"the other end of PhotoClip's socket is run by {who}")


def check_socket_file(path: Path) -> None:
    """Before connecting: the name must be a socket owned by us (NoServer when nothing is there)."""
    try:
        info = os.lstat(path)
    except FileNotFoundError as exc:
        raise NoServer(f"no PhotoClip listens at {path}") from exc
    if not stat.S_ISSOCK(info.st_mode):
        warn_once(f"refused PhotoClip's socket {path}: it is not a socket")
        raise UnsafeChannel(f"{path} is not a socket")
    if info.st_uid != own_uid():
        warn_once(f"refused PhotoClip's socket {path}: it belongs to uid {info.st_uid}")
        raise UnsafeChannel(f"{path} belongs to another user (uid {info.st_uid})")


def clear_stale_socket(path: Path) -> None:
    """Make way for a new server: nothing there, or our own socket left by a crash (removed).
    Raises ChannelError when the name is taken (a live server, or not ours)."""
    try:
        check_socket_file(path)
    except NoServer:
        return
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        try:
            probe.connect(str(path))
        except ConnectionRefusedError:  # nobody accepts on it any more: a crash's leftover
            path.unlink(missing_ok=True)
            return
        except FileNotFoundError:
            return
        except OSError:
            pass  # a timeout: someone is there but busy
        else:
            check_peer(probe.fileno())  # a stranger listening on our file is named as one
    raise ChannelError(f"another PhotoClip already listens at {path}")


# ---- what is said ----------------------------------------------------------------------

def encode(message: Mapping[str, Any]) -> bytes:
    """One line: the message with its protocol version."""
    line = json.dumps({"v": PROTOCOL_VERSION, **message}, separators=(",", ":")).encode() + b"\n"
    if len(line) > MAX_MESSAGE_BYTES:
        raise ProtocolError(f"a message of {len(line)} bytes is over the {MAX_MESSAGE_BYTES} limit")
    return line


def _decode(line: bytes, key: str, kind: type) -> dict[str, Any]:
    if len(line) > MAX_MESSAGE_BYTES:
        raise ProtocolError("a message over the size limit")
    try:
        message = json.loads(line)
    except (ValueError, RecursionError) as exc:  # bad JSON or UTF-8; absurdly deep nesting
        raise ProtocolError("a message that is not JSON") from exc
    if not isinstance(message, dict) or message.get("v") != PROTOCOL_VERSION:
        raise ProtocolError(f"not a version {PROTOCOL_VERSION} message")
    if type(message.get(key)) is not kind:  # exactly: True is no "cmd", 1 is no "ok"
        raise ProtocolError(f"a message without a valid {key!r}")
    return message


def decode_request(line: bytes) -> dict[str, Any]:
    """A request line: ``{"v": 1, "cmd": "<name>", ...}``, else ProtocolError."""
    return _decode(line, "cmd", str)


def decode_reply(line: bytes) -> dict[str, Any]:
    """A reply line: ``{"v": 1, "ok": true|false, ...}``, else ProtocolError."""
    return _decode(line, "ok", bool)


class LineReader:
    """Splits a byte stream into lines; a line growing past the limit is a ProtocolError."""

    def __init__(self, limit: int = MAX_MESSAGE_BYTES) -> None:
        self.limit = limit
        self._pending = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        self._pending += data
        *lines, rest = self._pending.split(b"\n")
        if len(rest) > self.limit or any(len(line) > self.limit for line in lines):
            raise ProtocolError(f"a message over {self.limit} bytes")
        self._pending = bytearray(rest)
        return [bytes(line) for line in lines]


def request(path: Path, message: Mapping[str, Any], timeout: float = READ_TIMEOUT_S, *,
            connect_timeout: float | None = None) -> dict[str, Any]:
    """Ask the PhotoClip listening at ``path`` and return its reply within ``timeout``
    (accepted within ``connect_timeout``, by default the same). Checks the socket file's
    owner and the listener's user id before a byte is sent. Raises NoServer, UnsafeChannel,
    ChannelTimeout or ProtocolError."""
    check_socket_file(path)
    line = encode(message)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout if connect_timeout is None else connect_timeout)
        try:
            sock.connect(str(path))
        except (FileNotFoundError, ConnectionRefusedError) as exc:
            raise NoServer(f"no PhotoClip listens at {path}") from exc
        except TimeoutError as exc:
            raise ChannelTimeout(f"PhotoClip at {path} did not accept in time") from exc
        check_peer(sock.fileno())
        deadline = time.monotonic() + timeout
        sock.settimeout(timeout)
        try:
            sock.sendall(line)
            return decode_reply(_read_line(sock, deadline))
        except TimeoutError as exc:
            raise ChannelTimeout(f"PhotoClip at {path} did not answer in time") from exc
        except OSError as exc:
            raise ProtocolError(f"PhotoClip at {path} hung up: {exc.strerror}") from exc


def _read_line(sock: socket.socket, deadline: float) -> bytes:
    reader = LineReader()
    while True:
        sock.settimeout(max(deadline - time.monotonic(), 0.001))
        data = sock.recv(65536)
        if not data:
            raise ProtocolError("the other end hung up without answering")
        lines = reader.feed(data)
        if lines:
            return lines[0]
