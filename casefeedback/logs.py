"""Logging: to a file in the instance directory, never with request bodies or answers."""

from __future__ import annotations

import logging
import os

from casefeedback.config import Config

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(config: Config) -> None:
    if config.log_path is None:
        return
    config.log_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    root = logging.getLogger("casefeedback")
    for old in [h for h in root.handlers if getattr(h, "casefeedback_instance_log", False)]:
        if getattr(old, "baseFilename", None) == str(config.log_path):
            return
        root.removeHandler(old)
        old.close()
    handler = logging.FileHandler(config.log_path, encoding="utf-8")
    handler.casefeedback_instance_log = True  # type: ignore[attr-defined]
    os.chmod(config.log_path, 0o600)
    handler.setFormatter(logging.Formatter(FORMAT))
    root.addHandler(handler)
    root.setLevel(logging.INFO)
