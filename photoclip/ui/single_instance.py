"""One app per library: a second launch hands over to the first and exits.

A local socket (named after the library's data directory, so two libraries
can run side by side) carries one message; the running app raises its window.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

CONNECT_TIMEOUT_MS = 500


def server_name(data_dir: Path) -> str:
    digest = hashlib.sha1(str(data_dir.resolve()).encode()).hexdigest()[:12]
    return f"photoclip-{digest}"


class SingleInstance(QObject):
    activated = Signal()  # another launch asked this one to come forward

    def __init__(self, data_dir: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = server_name(data_dir)
        self._server: QLocalServer | None = None

    def hand_over(self) -> bool:
        """True if another instance is running (it was asked to come forward)."""
        socket = QLocalSocket()
        socket.connectToServer(self.name)
        if not socket.waitForConnected(CONNECT_TIMEOUT_MS):
            return False
        socket.write(b"activate\n")
        socket.waitForBytesWritten(CONNECT_TIMEOUT_MS)
        socket.disconnectFromServer()
        return True

    def listen(self) -> None:
        QLocalServer.removeServer(self.name)  # a socket file left by a crash
        self._server = QLocalServer(self)
        self._server.listen(self.name)
        self._server.newConnection.connect(self._accept)

    def _accept(self) -> None:
        assert self._server is not None
        while (connection := self._server.nextPendingConnection()) is not None:
            # Drain what it says (a lambda: PySide can't connect to readAll directly).
            connection.readyRead.connect(lambda c=connection: c.readAll())
            connection.disconnected.connect(connection.deleteLater)
            self.activated.emit()
