#!/usr/bin/env python3
"""A tiny S3 server for tests/cli/t_hostile_remote.sh: path-style buckets on
127.0.0.1, objects kept in STATE/objects, every request's SigV4 signature
checked against the test secret (403 SignatureDoesNotMatch otherwise) and its
method, path and headers appended to STATE/requests.log as JSON lines.

The behaviour comes from STATE/mode, read on every request, so a test can
turn an honest server hostile between two commands:

  honest          a plain S3 server (PUT, GET with Range, HEAD, DELETE,
                  If-None-Match: *)
  flood           GET of an object: 200, Content-Length 512 MiB, zeros
  flood-chunked   GET of an object: 200, no length, zeros until 512 MiB
  flood-range     ranged GET: 206 with the right Content-Range, no length,
                  then zeros until 512 MiB
  flood-batch     GET of a log batch: 200, no length, zeros until 512 MiB
  trickle         GET of a log batch: 200, Content-Length 1000000, then one
                  byte every half second (a server that never finishes)
  redirect PORT   every request: 307 to 127.0.0.1:PORT (same path)
  big-headers     every request: 200 with 100 KiB of extra headers
  evil-error      every request: 500 whose <Code> holds control characters
                  and echoes the request's Authorization header
  bad-etag        PUT: 200 with an ETag of 300 bytes
  head-length V.. HEAD of an object: 200 with one Content-Length header
                  per V as written (none when no V is given)

Bytes a flood managed to send are written to STATE/sent when the client
hangs up.  Usage: stub_s3.py STATE SECRET (the port goes to STATE/port).
"""
import hashlib
import hmac
import json
import os
import time
import sys
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STATE, SECRET = sys.argv[1], sys.argv[2]
FLOOD = 512 << 20


def mode():
    try:
        with open(os.path.join(STATE, "mode")) as f:
            return f.read().split()
    except FileNotFoundError:
        return ["honest"]


def signing_key(date, region, service):
    k = ("AWS4" + SECRET).encode()
    for part in (date, region, service, "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    return k


def signature_ok(h, method, raw_path):
    auth = h.get("Authorization", "")
    if not auth.startswith("AWS4-HMAC-SHA256 "):
        return False
    fields = dict(p.strip().split("=", 1) for p in auth[len("AWS4-HMAC-SHA256 "):].split(","))
    _, date, region, service, _ = fields["Credential"].split("/")
    names = fields["SignedHeaders"].split(";")
    path, _, query = raw_path.partition("?")
    canon = "\n".join([method, path, query] +
                      [n + ":" + " ".join(h.get(n, "").split()) for n in names] +
                      ["", fields["SignedHeaders"], h.get("x-amz-content-sha256", "")])
    sts = "\n".join(["AWS4-HMAC-SHA256", h.get("x-amz-date", ""),
                     "/".join([date, region, service, "aws4_request"]),
                     hashlib.sha256(canon.encode()).hexdigest()])
    want = hmac.new(signing_key(date, region, service), sts.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(want, fields["Signature"])


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def record(self):
        with open(os.path.join(STATE, "requests.log"), "a") as f:
            f.write(json.dumps({"method": self.command, "path": self.path,
                                "headers": {k.lower(): v for k, v in self.headers.items()}}) + "\n")

    def store_path(self):
        key = urllib.parse.unquote(self.path.partition("?")[0]).lstrip("/")
        return os.path.join(STATE, "objects", key.replace("/", "%2F"))

    def reply(self, status, body=b"", headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def error(self, status, code):
        self.reply(status, ("<Error><Code>%s</Code></Error>" % code).encode())

    def flood(self, status, headers, length):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        if length:
            self.send_header("Content-Length", str(FLOOD))
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        sent, block = 0, b"\0" * 65536
        try:
            while sent < FLOOD:
                self.wfile.write(block)
                sent += len(block)
        except OSError:
            pass
        with open(os.path.join(STATE, "sent.tmp"), "w") as f:
            f.write(str(sent))
        os.replace(os.path.join(STATE, "sent.tmp"), os.path.join(STATE, "sent"))
        self.close_connection = True

    def trickle(self):
        self.send_response(200)
        self.send_header("Content-Length", "1000000")
        self.end_headers()
        try:
            for _ in range(1000000):
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(0.5)
        except OSError:
            pass
        self.close_connection = True

    def handle_any(self):
        self.record()
        body = b""
        if "Content-Length" in self.headers:
            body = self.rfile.read(int(self.headers["Content-Length"]))
        m = mode()
        if m[0] == "redirect":
            return self.reply(307, b"", [("Location", "http://127.0.0.1:%s%s" % (m[1], self.path))])
        if m[0] == "big-headers":
            return self.reply(200, b"", [("X-Junk-%d" % i, "j" * 1000) for i in range(100)])
        if m[0] == "evil-error":
            code = "\x1b[31mEVIL\x07\r\nInjected" + self.headers.get("Authorization", "")
            return self.reply(500, ("<Error><Code>%s</Code></Error>" % code).encode())
        if not signature_ok(self.headers, self.command, self.path):
            return self.error(403, "SignatureDoesNotMatch")
        path = self.store_path()
        is_object = "/objects/" in self.path
        if self.command == "PUT":
            if hashlib.sha256(body).hexdigest() != self.headers.get("x-amz-content-sha256"):
                return self.error(400, "XAmzContentSHA256Mismatch")
            if self.headers.get("If-None-Match") == "*" and os.path.exists(path):
                return self.error(412, "PreconditionFailed")
            with open(path + ".tmp", "wb") as f:
                f.write(body)
            os.replace(path + ".tmp", path)
            etag = '"' + ("e" * 300 if m[0] == "bad-etag" else hashlib.md5(body).hexdigest()) + '"'
            return self.reply(200, b"", [("ETag", etag)])
        if self.command == "DELETE":
            if os.path.exists(path):
                os.unlink(path)
            return self.reply(204)
        if self.command not in ("GET", "HEAD"):
            return self.error(501, "NotImplemented")
        if self.command == "HEAD" and m[0] == "head-length" and is_object:
            self.send_response(200)
            for v in m[1:]:
                self.send_header("Content-Length", v)
            self.end_headers()
            return
        if not os.path.exists(path):
            return self.error(404, "NoSuchKey")
        with open(path, "rb") as f:
            data = f.read()
        rng = self.headers.get("Range")
        if self.command == "GET" and m[0] == "flood" and is_object:
            return self.flood(200, [], True)
        if self.command == "GET" and m[0] == "flood-chunked" and is_object:
            return self.flood(200, [], False)
        if self.command == "GET" and m[0] == "flood-batch" and "/log/" in self.path:
            return self.flood(200, [], False)
        if self.command == "GET" and m[0] == "trickle" and "/log/" in self.path:
            return self.trickle()
        if rng:
            a, b = (int(x) for x in rng.split("=")[1].split("-"))
            cr = [("Content-Range", "bytes %d-%d/%d" % (a, b, len(data)))]
            if self.command == "GET" and m[0] == "flood-range":
                return self.flood(206, cr, False)
            return self.reply(206, data[a:b + 1], cr)
        return self.reply(200, data, [("ETag", '"%s"' % hashlib.md5(data).hexdigest())])

    do_GET = do_PUT = do_HEAD = do_DELETE = do_POST = handle_any


class Server(ThreadingHTTPServer):
    daemon_threads = True


os.makedirs(os.path.join(STATE, "objects"), exist_ok=True)
srv = Server(("127.0.0.1", 0), Handler)
with open(os.path.join(STATE, "port.tmp"), "w") as f:
    f.write(str(srv.server_address[1]))
os.replace(os.path.join(STATE, "port.tmp"), os.path.join(STATE, "port"))
srv.serve_forever()
