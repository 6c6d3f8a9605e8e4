"""A webhook receiver for the tests, run as its own process: verifies each request's Standard
Webhooks signature with the `standardwebhooks` library, de-duplicates by `webhook-id`, and
appends what it accepted (one JSON line: id, member, sequence, type, duplicate or not) to a file.

    python tests/webhooks/receiver.py PORT SECRET LOG_FILE [STATUS [DELAY]]

Answers STATUS (default 204) to valid requests after DELAY seconds (default 0), 401 to badly
signed ones.
"""

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


def main():
    port, secret, log_path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    status = int(sys.argv[4]) if len(sys.argv) > 4 else 204
    delay = float(sys.argv[5]) if len(sys.argv) > 5 else 0.0
    verifier = Webhook(secret)
    seen: set[str] = set()
    lock = threading.Lock()
    log = open(log_path, "a", buffering=1)  # noqa: SIM115 - open for the process's life

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["content-length"]))
            try:
                message = verifier.verify(body, dict(self.headers))
            except WebhookVerificationError:
                self.send_response(401)
                self.end_headers()
                return
            time.sleep(delay)
            with lock:
                duplicate = self.headers["webhook-id"] in seen
                seen.add(self.headers["webhook-id"])
                line = {
                    "id": message["id"],
                    "type": message["type"],
                    "member_id": message["data"].get("member_id"),
                    "sequence": message["sequence"],
                    "duplicate": duplicate,
                    "signatures": len(self.headers["webhook-signature"].split(" ")),
                }
                log.write(json.dumps(line) + "\n")
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
