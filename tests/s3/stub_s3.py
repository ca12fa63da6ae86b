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
  fail-part N     UploadPart of part N: 500 InternalError (the part is not
                  stored)
  fail-complete   CompleteMultipartUpload: 500 InternalError, nothing done
  complete-500    CompleteMultipartUpload: the object is made, the answer
                  is a 500 (a completion whose answer was lost)
  complete-short  CompleteMultipartUpload: 200, the object one byte short
  parts-flood     ListParts: one page of 100000 parts, sent until the client
                  hangs up
  parts-endless   ListParts: always truncated, the next marker never moves
  parts-absurd    ListParts: every part 2^62 bytes
  parts-dup       ListParts: every part listed twice in a row
  parts-malformed ListParts: XML that never closes its <Part>
  uploads-evil-id ListMultipartUploads: one more upload of every key, newer,
                  whose id holds '&', '/', '..', spaces and a line break
  uploads-endless ListMultipartUploads: always truncated, markers never move
  objects-any-prefix ListObjectsV2: every key of the bucket, whatever the
                  prefix asked (a server listing keys outside it)
  objects-endless ListObjectsV2: always truncated, the token never moves
  drop-reused N   the first N requests that come on a connection already
                  used are read whole, then the connection is closed without
                  an answer (a keep-alive connection the server dropped);
                  STATE/dropped counts them

ListObjectsV2 (GET ?list-type=2) lists STATE/objects by key, LastModified
from each file's mtime (a test ages an object with touch -d), paged by
max-keys or STATE/page_size with an opaque continuation token.

Multipart uploads (CreateMultipartUpload, UploadPart, ListParts,
ListMultipartUploads, CompleteMultipartUpload, AbortMultipartUpload) keep
their state in STATE/uploads/ID/: `key`, `initiated` (seconds since 1970: a
test ages an upload by rewriting it) and one file per part. ListParts gives
each part's MD5 of its stored bytes as its ETag, so a test tampers a part
by rewriting its file. STATE/page_size (optional) caps every listing page.

Every connection accepted appends a line to STATE/connections.log (so a
test sees how many requests shared one). Bytes a flood managed to send are
written to STATE/sent when the client hangs up.  Usage: stub_s3.py STATE SECRET (the port goes to STATE/port).
"""
import base64
import hashlib
import hmac
import json
import os
import re
import shutil
import time
import sys
import urllib.parse
from xml.sax.saxutils import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STATE, SECRET = sys.argv[1], sys.argv[2]
FLOOD = 512 << 20


def mode():
    try:
        with open(os.path.join(STATE, "mode")) as f:
            return f.read().split()
    except FileNotFoundError:
        return ["honest"]


UPLOADS = os.path.join(STATE, "uploads")


def page_size(asked):
    try:
        with open(os.path.join(STATE, "page_size")) as f:
            return min(asked, int(f.read()))
    except FileNotFoundError:
        return asked


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(t))


def upload_dir(uid):
    # ids are the stub's own (base64 and '~'): map them to a safe folder name
    return os.path.join(UPLOADS, hashlib.sha256(uid.encode()).hexdigest())


def read(path):
    with open(path) as f:
        return f.read()


def uploads():
    """Every upload as (key, initiated, id), in S3's listing order."""
    out = []
    for d in os.listdir(UPLOADS) if os.path.isdir(UPLOADS) else []:
        base = os.path.join(UPLOADS, d)
        try:
            out.append((read(os.path.join(base, "key")), float(read(os.path.join(base, "initiated"))),
                        read(os.path.join(base, "id"))))
        except (FileNotFoundError, ValueError):
            pass
    return sorted(out)


def parts_of(uid):
    base = upload_dir(uid)
    nums = sorted(int(n) for n in os.listdir(base) if n.isdigit())
    return [(n, os.path.join(base, str(n))) for n in nums]


def md5_file(path):
    with open(path, "rb") as f:
        return hashlib.md5(f.read()).hexdigest()


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

    def setup(self):
        super().setup()
        self.served = 0  # requests on this connection so far
        with open(os.path.join(STATE, "connections.log"), "a") as f:
            f.write("%s:%d\n" % self.client_address)

    def drop(self, limit):
        """True (the connection is to close unanswered) for the first LIMIT
        requests that reuse a connection."""
        path = os.path.join(STATE, "dropped")
        n = int(read(path)) if os.path.exists(path) else 0
        if self.served < 2 or n >= limit:
            return False
        with open(path + ".tmp", "w") as f:
            f.write(str(n + 1))
        os.replace(path + ".tmp", path)
        self.close_connection = True
        return True

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
        self.served += 1
        body = b""
        if "Content-Length" in self.headers:
            body = self.rfile.read(int(self.headers["Content-Length"]))
        m = mode()
        if m[0] == "drop-reused" and self.drop(int(m[1])):
            return
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
        query = urllib.parse.parse_qs(self.path.partition("?")[2], keep_blank_values=True)
        if "uploads" in query or "uploadId" in query:
            return self.multipart(query, body, path, m)
        if self.command == "GET" and "list-type" in query:
            return self.list_objects(query, m)
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

    def xml(self, status, text):
        self.reply(status, ('<?xml version="1.0" encoding="UTF-8"?>\n' + text).encode())

    def multipart(self, query, body, path, m):
        bucket, _, key = urllib.parse.unquote(self.path.partition("?")[0]).lstrip("/").partition("/")
        uid = query.get("uploadId", [""])[0]
        base = upload_dir(uid)
        if "uploads" in query and self.command == "POST":
            uid = "2~" + base64.b64encode(os.urandom(18)).decode()
            base = upload_dir(uid)
            os.makedirs(base)
            for name, value in (("key", key), ("id", uid), ("initiated", str(time.time()))):
                with open(os.path.join(base, name), "w") as f:
                    f.write(value)
            return self.xml(200, "<InitiateMultipartUploadResult><Bucket>%s</Bucket><Key>%s</Key>"
                            "<UploadId>%s</UploadId></InitiateMultipartUploadResult>"
                            % (bucket, escape(key), escape(uid)))
        if "uploads" in query and self.command == "GET":
            return self.list_uploads(query, bucket, m)
        if not os.path.isdir(base) or read(os.path.join(base, "key")) != key:
            return self.error(404, "NoSuchUpload")
        if self.command == "PUT":
            n = int(query["partNumber"][0])
            if m[0] == "fail-part" and n == int(m[1]):
                return self.error(500, "InternalError")
            if hashlib.sha256(body).hexdigest() != self.headers.get("x-amz-content-sha256"):
                return self.error(400, "XAmzContentSHA256Mismatch")
            if base64.b64encode(hashlib.md5(body).digest()).decode() != self.headers.get("Content-MD5"):
                return self.error(400, "BadDigest")
            with open(os.path.join(base, "%d.tmp" % n), "wb") as f:
                f.write(body)
            os.replace(os.path.join(base, "%d.tmp" % n), os.path.join(base, str(n)))
            return self.reply(200, b"", [("ETag", '"%s"' % hashlib.md5(body).hexdigest())])
        if self.command == "GET":
            return self.list_parts(query, bucket, key, uid, m)
        if self.command == "DELETE":
            shutil.rmtree(base)
            return self.reply(204)
        # CompleteMultipartUpload: every part named, in order, with its ETag
        if m[0] == "fail-complete":
            return self.error(500, "InternalError")
        have = dict(parts_of(uid))
        named = [(int(a), b.replace("&quot;", '"').strip('"')) for a, b in
                 re.findall(r"<Part><PartNumber>(\d+)</PartNumber><ETag>([^<]*)</ETag></Part>", body.decode())]
        if not named or [n for n, _ in named] != sorted(n for n, _ in named):
            return self.error(400, "InvalidPartOrder")
        for n, etag in named:
            if n not in have or md5_file(have[n]) != etag:
                return self.error(400, "InvalidPart")
        with open(path + ".tmp", "wb") as out:
            for n, _ in named:
                with open(have[n], "rb") as f:
                    out.write(f.read())
        if m[0] == "complete-short":
            os.truncate(path + ".tmp", os.path.getsize(path + ".tmp") - 1)
        os.replace(path + ".tmp", path)
        shutil.rmtree(base)
        if m[0] == "complete-500":
            return self.error(500, "InternalError")
        return self.xml(200, "<CompleteMultipartUploadResult><Key>%s</Key><ETag>&quot;x-%d&quot;</ETag>"
                        "</CompleteMultipartUploadResult>" % (escape(key), len(named)))

    def list_uploads(self, query, bucket, m):
        prefix = query.get("prefix", [""])[0]
        kmark = query.get("key-marker", [""])[0]
        imark = query.get("upload-id-marker", [""])[0]
        limit = page_size(int(query.get("max-uploads", ["1000"])[0]))
        rows = [u for u in uploads() if u[0].startswith(prefix)]
        if m[0] == "uploads-evil-id":
            rows += [(k, t + 1, "../x&uploadId=y z\r\n") for k, t, _ in rows]
        if kmark:
            ids = [u[2] for u in rows if u[0] == kmark]
            rows = [u for u in rows if u[0] > kmark or
                    (u[0] == kmark and imark in ids and ids.index(u[2]) > ids.index(imark))]
        page, more = rows[:limit], len(rows) > limit
        text = "".join("<Upload><Key>%s</Key><UploadId>%s</UploadId><Initiator><ID>x</ID></Initiator>"
                       "<StorageClass>STANDARD</StorageClass><Initiated>%s</Initiated></Upload>"
                       % (escape(k), escape(i), iso(t)) for k, t, i in page)
        nxt = ("<NextKeyMarker>%s</NextKeyMarker><NextUploadIdMarker>%s</NextUploadIdMarker>"
               % (escape(page[-1][0]), escape(page[-1][2]))) if more else ""
        if m[0] == "uploads-endless":
            more, nxt = True, "<NextKeyMarker>%sz</NextKeyMarker><NextUploadIdMarker>2~stuck</NextUploadIdMarker>" % prefix
        return self.xml(200, "<ListMultipartUploadsResult><Bucket>%s</Bucket><Prefix>%s</Prefix>%s"
                        "<MaxUploads>%d</MaxUploads><IsTruncated>%s</IsTruncated>%s"
                        "</ListMultipartUploadsResult>" % (bucket, escape(prefix), nxt, limit,
                                                           "true" if more else "false", text))

    def list_objects(self, query, m):
        bucket = urllib.parse.unquote(self.path.partition("?")[0]).strip("/")
        prefix = query.get("prefix", [""])[0]
        after = base64.b64decode(query.get("continuation-token", [""])[0]).decode()
        limit = page_size(int(query.get("max-keys", ["1000"])[0]))
        base = os.path.join(STATE, "objects")
        rows = []
        for name in os.listdir(base) if os.path.isdir(base) else []:
            full = name.replace("%2F", "/")
            if name.endswith(".tmp") or not full.startswith(bucket + "/"):
                continue
            key = full[len(bucket) + 1:]
            if key.startswith(prefix) or m[0] == "objects-any-prefix":
                rows.append((key, os.stat(os.path.join(base, name))))
        rows = [r for r in sorted(rows) if r[0] > after]
        page, more = rows[:limit], len(rows) > limit
        text = "".join("<Contents><Key>%s</Key><LastModified>%s</LastModified><ETag>&quot;x&quot;</ETag>"
                       "<Size>%d</Size><StorageClass>STANDARD</StorageClass></Contents>"
                       % (escape(k), iso(st.st_mtime), st.st_size) for k, st in page)
        token = base64.b64encode(page[-1][0].encode()).decode() if more else ""
        if m[0] == "objects-endless":
            more, token = True, base64.b64encode(b"stuck").decode()
        nxt = "<NextContinuationToken>%s</NextContinuationToken>" % token if more else ""
        return self.xml(200, "<ListBucketResult><Name>%s</Name><Prefix>%s</Prefix><KeyCount>%d</KeyCount>"
                        "<MaxKeys>%d</MaxKeys><IsTruncated>%s</IsTruncated>%s%s</ListBucketResult>"
                        % (bucket, escape(prefix), len(page), limit, "true" if more else "false", nxt, text))

    def list_parts(self, query, bucket, key, uid, m):
        marker = int(query.get("part-number-marker", ["0"])[0])
        limit = page_size(int(query.get("max-parts", ["1000"])[0]))
        rows = [(n, f) for n, f in parts_of(uid) if n > marker]
        page, more = rows[:limit], len(rows) > limit
        def part(n, etag, size):
            return ("<Part><PartNumber>%d</PartNumber><LastModified>%s</LastModified>"
                    "<ETag>&quot;%s&quot;</ETag><Size>%d</Size></Part>" % (n, iso(time.time()), etag, size))
        head = ("<ListPartsResult><Bucket>%s</Bucket><Key>%s</Key><UploadId>%s</UploadId>"
                % (bucket, escape(key), escape(uid)))
        if m[0] == "parts-flood":
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            try:
                self.wfile.write(head.encode() + b"<IsTruncated>false</IsTruncated>")
                for n in range(1, 100001):
                    self.wfile.write(part(n, "0" * 32, 5 << 20).encode())
                self.wfile.write(b"</ListPartsResult>")
            except OSError:
                pass
            self.close_connection = True
            return
        if m[0] == "parts-endless":
            return self.xml(200, head + "<IsTruncated>true</IsTruncated><NextPartNumberMarker>1"
                            "</NextPartNumberMarker>" + part(1, "0" * 32, 5 << 20) + "</ListPartsResult>")
        if m[0] == "parts-malformed":
            return self.xml(200, head + "<IsTruncated>false</IsTruncated><Part><PartNumber>1</PartNumber><Size>5")
        text = "".join(part(n, md5_file(f), 1 << 62 if m[0] == "parts-absurd" else os.path.getsize(f))
                       for n, f in page)
        if m[0] == "parts-dup":  # every part listed twice: one claims the other's place
            text = "".join(part(n, md5_file(f), os.path.getsize(f)) * 2 for n, f in page)
        nxt = "<NextPartNumberMarker>%d</NextPartNumberMarker>" % page[-1][0] if more else ""
        return self.xml(200, head + "<PartNumberMarker>%d</PartNumberMarker>%s<IsTruncated>%s</IsTruncated>%s"
                        "</ListPartsResult>" % (marker, nxt, "true" if more else "false", text))

    do_GET = do_PUT = do_HEAD = do_DELETE = do_POST = handle_any


class Server(ThreadingHTTPServer):
    daemon_threads = True


os.makedirs(os.path.join(STATE, "objects"), exist_ok=True)
os.makedirs(UPLOADS, exist_ok=True)
srv = Server(("127.0.0.1", 0), Handler)
with open(os.path.join(STATE, "port.tmp"), "w") as f:
    f.write(str(srv.server_address[1]))
os.replace(os.path.join(STATE, "port.tmp"), os.path.join(STATE, "port"))
srv.serve_forever()
