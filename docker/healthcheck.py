#!/usr/bin/python3
"""Docker HEALTHCHECK for the hub and single-user images: ``healthcheck URL``.

Healthy when the server answers HTTP at all with a status below 500: a 403 from an
API that wants a token still proves the process is serving. A service run from the
same image with another command (the proxy from the hub image) gives its own check.
Standard library only, run by the system python3, so no curl in the images.
"""
import sys
import urllib.error
import urllib.request

url = sys.argv[1]
try:
    urllib.request.urlopen(url, timeout=8)
except urllib.error.HTTPError as e:
    sys.exit(e.code >= 500)
except Exception as e:  # refused, timed out, bad URL: not serving
    print(f"healthcheck: {url}: {e}", file=sys.stderr)
    sys.exit(1)
