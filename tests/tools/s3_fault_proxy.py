#!/usr/bin/env python3
"""s3_fault_proxy.py: an HTTP proxy between dsbackup and an S3 server on
127.0.0.1 that fails the first requests of a kind, then forwards.

    s3_fault_proxy.py --upstream 127.0.0.1:7480 --port-file F [--fault SPEC]...

SPEC is METHOD:FAULT:COUNT[:PATH], for example "PUT:503:3" (the first 3 PUT
requests get 503 SlowDown), "GET:500:2", "any:drop:1" (the connection is
closed without an answer), "PUT:503:inf:/data/" (every PUT whose path
contains "/data/", for ever), "POST:lose:1:?uploads" (the request is
forwarded and the server acts on it, but its answer is lost: the connection
is closed instead).  METHOD "any" matches every request; each SPEC
counts its own matches, and the first SPEC that still has faults left wins.
Requests are forwarded byte for byte (the Host header too, so SigV4
signatures stay valid).  The listening port is written to the port file;
every request and injected fault is logged on stdout, one line each.
Standard library only, for the tests (tests/e2e/test_s3_retries.sh).
"""
import argparse
import http.client
import http.server
import os
import socketserver
import sys
import threading

FAULT_BODIES = {
    "503": (503, "SlowDown", "Please reduce your request rate."),
    "500": (500, "InternalError", "We encountered an internal error. Please try again."),
}
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
              "proxy-connection", "content-length", "expect"}


class Fault:
    def __init__(self, spec):
        parts = spec.split(":", 3)
        if len(parts) < 3 or parts[1] not in ("503", "500", "drop", "lose"):
            raise ValueError("bad --fault %r: want METHOD:503|500|drop|lose:COUNT[:PATH]" % spec)
        self.method = parts[0].upper()
        self.kind = parts[1]
        self.left = float("inf") if parts[2] == "inf" else int(parts[2])
        self.path = parts[3] if len(parts) == 4 else ""
        self.spec = spec

    def take(self, method, path):
        """One fault for this request, if this spec matches and has some left."""
        if self.left <= 0 or (self.method != "ANY" and self.method != method):
            return False
        if self.path and self.path not in path:
            return False
        self.left -= 1
        return True


class Proxy(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def make_handler(upstream, faults, lock, log):
    host, port = upstream.rsplit(":", 1)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):  # quiet: our own log only
            pass

        def pick_fault(self):
            with lock:
                for f in faults:
                    if f.take(self.command, self.path):
                        return f
            return None

        def handle_any(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length > 0 else b""
            fault = self.pick_fault()
            if fault is not None:
                log("fault %s %s %s (%s)" % (fault.kind, self.command, self.path, fault.spec))
                if fault.kind in ("drop", "lose"):
                    if fault.kind == "lose":
                        self.forward(body, answer=False)
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                status, code, message = FAULT_BODIES[fault.kind]
                xml = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>%s</Code>"
                       "<Message>%s</Message></Error>" % (code, message)).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(xml)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(xml)
                return
            self.forward(body)

        def forward(self, body, answer=True):
            conn = http.client.HTTPConnection(host, int(port), timeout=120)
            try:
                conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                for k, v in self.headers.items():
                    if k.lower() not in HOP_BY_HOP:
                        conn.putheader(k, v)
                conn.putheader("Content-Length", str(len(body)))
                conn.endheaders(body)
                resp = conn.getresponse()
                data = resp.read()
            except OSError as e:
                log("upstream error %s %s: %s" % (self.command, self.path, e))
                self.send_error(502)
                return
            finally:
                conn.close()
            log("forward %s %s -> %d%s" % (self.command, self.path, resp.status,
                                            "" if answer else " (answer lost)"))
            if not answer:
                return
            self.send_response_only(resp.status, resp.reason)
            for k, v in resp.getheaders():
                if k.lower() not in HOP_BY_HOP:
                    self.send_header(k, v)
            # a HEAD answer keeps the object's length
            length = resp.getheader("Content-Length") if self.command == "HEAD" else len(data)
            self.send_header("Content-Length", str(length or 0))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any

    return Handler


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--upstream", required=True, help="HOST:PORT of the S3 server")
    ap.add_argument("--port-file", required=True, help="where to write the port listened on")
    ap.add_argument("--fault", action="append", default=[], help="METHOD:FAULT:COUNT[:PATH]")
    args = ap.parse_args()
    faults = [Fault(s) for s in args.fault]
    out_lock = threading.Lock()

    def log(line):
        with out_lock:
            print(line, flush=True)

    server = Proxy(("127.0.0.1", 0), make_handler(args.upstream, faults, threading.Lock(), log))
    with open(args.port_file + ".tmp", "w") as f:
        f.write("%d\n" % server.server_address[1])
    os.rename(args.port_file + ".tmp", args.port_file)
    log("listening on 127.0.0.1:%d, upstream %s, faults %s" %
        (server.server_address[1], args.upstream, " ".join(args.fault) or "none"))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
