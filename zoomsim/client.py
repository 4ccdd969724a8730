"""A small HTTP client for the /_sim/ levers and for getting a token, used by tests, the demo and bench/.

It talks HTTP on purpose, so a standalone simulator in another process is driven
exactly like one in a thread of the test.
"""

from __future__ import annotations

from typing import Any

import requests


class SimClient:
    def __init__(self, url: str, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.http = requests.Session()

    def call(self, method: str, path: str, body: dict[str, Any] | None = None, /, **params: Any) -> Any:
        response = self.http.request(
            method, f"{self.url}/_sim{path}", json=body, params=params or None, timeout=self.timeout
        )
        if response.status_code >= 400:
            raise RuntimeError(f"zoomsim {method} {path}: {response.status_code} {response.text}")
        return response.json()

    # --- tokens -------------------------------------------------------------------------

    def s2s_token(self, client_id: str, client_secret: str, account_id: str) -> str:
        response = self.http.post(
            f"{self.url}/oauth/token",
            params={"grant_type": "account_credentials", "account_id": account_id},
            auth=(client_id, client_secret),
            timeout=self.timeout,
        )
        response.raise_for_status()
        return response.json()["access_token"]

    # --- the world and meetings -----------------------------------------------------------

    def state(self) -> dict[str, Any]:
        return self.call("GET", "/state")

    def reset(self) -> None:
        self.call("POST", "/reset")

    def create_meeting(self, **fields: Any) -> dict[str, Any]:
        """As a host in Zoom's web portal (`kind`, `host` and any Zoom meeting fields)."""
        return self.call("POST", "/meetings", fields)

    def meeting(self, meeting_id: int) -> dict[str, Any]:
        return self.call("GET", f"/meetings/{meeting_id}")

    def edit_meeting(self, meeting_id: int, **fields: Any) -> dict[str, Any]:
        return self.call("PATCH", f"/meetings/{meeting_id}", fields)

    def delete_meeting(self, meeting_id: int) -> dict[str, Any]:
        return self.call("DELETE", f"/meetings/{meeting_id}")

    def play(self, meeting_id: int, script: dict[str, Any]) -> dict[str, Any]:
        return self.call("POST", f"/meetings/{meeting_id}/play", script)

    # --- webhooks, requests, faults -------------------------------------------------------

    def wait_for_webhooks(self, timeout: float = 30.0) -> bool:
        return self.call("POST", "/webhooks/wait", {"timeout": timeout})["idle"]

    def deliveries(self, event: str | None = None) -> list[dict[str, Any]]:
        return self.call("GET", "/webhooks", **({"event": event} if event else {}))["items"]

    def webhook_settings(self, **settings: Any) -> dict[str, Any]:
        return self.call("PUT", "/webhooks/settings", settings)

    def flush(self, **options: Any) -> int:
        return self.call("POST", "/webhooks/flush", options)["flushed"]

    def send(self, body: dict[str, Any]) -> int:
        return self.call("POST", "/webhooks/send", {"body": body})["message_id"]

    def requests(self, path: str | None = None) -> list[dict[str, Any]]:
        return self.call("GET", "/requests", **({"path": path} if path else {}))["items"]

    def fault(self, **fault: Any) -> dict[str, Any]:
        return self.call("POST", "/faults", fault)

    def clear_faults(self) -> None:
        self.call("DELETE", "/faults")
