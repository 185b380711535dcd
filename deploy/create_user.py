"""Create (or keep) the tracking server's user for the sweep workers, as the server's admin.

Run inside the deployment: reads MLFLOW_TRACKING_URI, MLFLOW_AUTH_ADMIN_PASSWORD, SWEEP_USER and
SWEEP_PASSWORD from the environment, waits up to two minutes for the server, exits 0 when the user
exists. Standard library only.
"""

import json
import os
import sys
import time
import urllib.error
import urllib.request
from base64 import b64encode

url = os.environ["MLFLOW_TRACKING_URI"].rstrip("/")
admin = b64encode(f"admin:{os.environ['MLFLOW_AUTH_ADMIN_PASSWORD']}".encode()).decode()
body = json.dumps({"username": os.environ["SWEEP_USER"], "password": os.environ["SWEEP_PASSWORD"]}).encode()
deadline = time.monotonic() + 120
while True:
    request = urllib.request.Request(
        f"{url}/api/2.0/mlflow/users/create",
        data=body,
        headers={"Content-Type": "application/json", "Authorization": f"Basic {admin}"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10):
            print(f"created user {os.environ['SWEEP_USER']!r}")
            sys.exit(0)
    except urllib.error.HTTPError as error:
        answer = error.read(300).decode("utf-8", "replace")
        if "RESOURCE_ALREADY_EXISTS" in answer:
            print(f"user {os.environ['SWEEP_USER']!r} exists")
            sys.exit(0)
        sys.exit(f"could not create the user: HTTP {error.code} {answer.strip()[:200]!r}")
    except OSError:
        if time.monotonic() > deadline:
            sys.exit(f"the tracking server {url} did not answer within 2 minutes")
        time.sleep(2)
