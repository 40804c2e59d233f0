#!/usr/bin/env python3
"""s3ls.py: list a bucket of the test gateway, quickly, for the S3 end-to-end tests.

The AWS CLI takes one to three seconds to start; the crash test lists the
bucket several times after each of its kills.  This is a plain S3 client of
its own (standard library, SigV4), so what it sees does not depend on
dsbackup.  Credentials and endpoint come from the environment that
scripts/services/radosgw.sh writes: DSB_S3_ENDPOINT, AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION.

  s3ls.py objects BUCKET PREFIX   one line per object: KEY SIZE ETAG LAST-MODIFIED
  s3ls.py uploads BUCKET PREFIX   one line per multipart upload in progress: KEY UPLOAD-ID
"""
import datetime
import hashlib
import hmac
import os
import sys
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def quote(s):
    return urllib.parse.quote(s, safe="-_.~")


def signed_get(bucket, query):
    """GET /BUCKET?QUERY signed with SigV4; the parsed XML answer."""
    endpoint = os.environ["DSB_S3_ENDPOINT"]
    access, secret = os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"]
    region = os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
    host = urllib.parse.urlsplit(endpoint).netloc
    now = datetime.datetime.now(datetime.timezone.utc)
    amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    path = "/" + quote(bucket)
    qs = "&".join("%s=%s" % (quote(k), quote(v)) for k, v in sorted(query.items()))
    signed = "host;x-amz-content-sha256;x-amz-date"
    canonical = "\n".join(["GET", path, qs, "host:" + host, "x-amz-content-sha256:" + EMPTY_SHA256,
                           "x-amz-date:" + amz_date, "", signed, EMPTY_SHA256])
    scope = "%s/%s/s3/aws4_request" % (day, region)
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + secret).encode()
    for part in (day, region, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    req = urllib.request.Request(endpoint + path + "?" + qs)
    req.add_header("x-amz-date", amz_date)
    req.add_header("x-amz-content-sha256", EMPTY_SHA256)
    req.add_header("Authorization", "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, "
                   "Signature=%s" % (access, scope, signed, signature))
    with urllib.request.urlopen(req, timeout=60) as answer:
        root = ET.fromstring(answer.read())
    for element in root.iter():  # drop the namespace: "{http://s3...}Key" -> "Key"
        element.tag = element.tag.rsplit("}", 1)[-1]
    return root


def list_objects(bucket, prefix):
    query = {"list-type": "2", "prefix": prefix}
    while True:
        root = signed_get(bucket, query)
        for c in root.findall("Contents"):
            print(c.findtext("Key"), c.findtext("Size"), c.findtext("ETag"),
                  c.findtext("LastModified"))
        if root.findtext("IsTruncated") != "true":
            return
        query["continuation-token"] = root.findtext("NextContinuationToken")


def list_uploads(bucket, prefix):
    query = {"uploads": "", "prefix": prefix}
    while True:
        root = signed_get(bucket, query)
        for u in root.findall("Upload"):
            print(u.findtext("Key"), u.findtext("UploadId"))
        if root.findtext("IsTruncated") != "true":
            return
        query["key-marker"] = root.findtext("NextKeyMarker") or ""
        query["upload-id-marker"] = root.findtext("NextUploadIdMarker") or ""


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("objects", "uploads"):
        sys.exit(__doc__)
    (list_objects if sys.argv[1] == "objects" else list_uploads)(sys.argv[2], sys.argv[3])


if __name__ == "__main__":
    main()
