"""A real HTTP receiver for webhook tests: http.server in a thread on 127.0.0.1, answering
each POST with the next status it was given (then 204), keeping what it received."""
import http.server
import threading
from dataclasses import dataclass, field


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes


@dataclass
class Receiver:
    answers: list = field(default_factory=list)  # statuses to answer, in order; then 204
    received: list = field(default_factory=list)
    on_post: object = None  # called as each POST arrives, before it is answered (outage tests)
    error_body: bytes = b""  # what an error answer says (a receiver's 422 may quote fields)
    server: object = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server.server_port}/hooks"

    def start(self, port=0):
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if receiver.on_post:
                    receiver.on_post()
                with receiver.lock:
                    receiver.received.append(Received(self.path, dict(self.headers), body))
                    status = receiver.answers.pop(0) if receiver.answers else 204
                answer = receiver.error_body if status >= 400 else b""
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *_):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
