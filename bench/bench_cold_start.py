"""Cold start of the packaged app: `import app` and the first invocation, each in a fresh process.

Unpacks `build/chalice/deployment.zip` (and `layer.zip`) as Lambda lays them out (`/var/task`, `/opt/python`,
then the runtime's SDK: boto3/botocore from this venv stand in for it) and times, three runs each:
`import app`, then one GET /v1/health through the Lambda handler, which builds the container (settings,
boto3 clients, probes). The AWS endpoint is a closed local port, so the probes fail at once and the figure is
our code's cost, not the network's. `--package DIR` measures another build (e.g. plain `chalice package`).
Bytecode is never written (`-B`): `/var/task` is read-only on Lambda.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import zipfile
from pathlib import Path

PROBE = """
import json, sys, time
t0 = time.perf_counter()
import app
t1 = time.perf_counter()
event = {"resource": "/v1/health", "path": "/v1/health", "httpMethod": "GET", "headers": {}, "multiValueHeaders": {},
         "queryStringParameters": None, "multiValueQueryStringParameters": None, "pathParameters": None,
         "stageVariables": None, "body": None, "isBase64Encoded": False,
         "requestContext": {"resourcePath": "/v1/health", "httpMethod": "GET", "path": "/api/v1/health",
                            "requestId": "cold", "stage": "api", "identity": {"sourceIp": "127.0.0.1"}}}
class Context:
    aws_request_id = "cold"
    function_name = "api"
    memory_limit_in_mb = 512
    def get_remaining_time_in_millis(self): return 30000
response = app.app(event, Context())
t2 = time.perf_counter()
print(json.dumps({"import_ms": (t1 - t0) * 1e3, "first_ms": (t2 - t1) * 1e3, "status": response["statusCode"]}))
"""

ENV = {
    "PATH": "/usr/bin:/bin",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "cold",
    "AWS_SECRET_ACCESS_KEY": "cold",
    "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
    "AME_APP_SECRET": "cold-start-benchmark-only-0123456789abcdef",
    "AME_LOG_LEVEL": "WARNING",
    **{
        f"AME_{p}_URL": "http://127.0.0.1:9"
        for p in ("PARAMETRIZER", "DOMAINS", "POWERS", "PEOPLE", "OPERATORS", "BUREAU")
    },
}


def run_once(task: Path, opt: Path) -> dict[str, float]:
    runtime_sdk = sysconfig.get_paths()["purelib"]
    path = [str(task), str(opt / "python"), runtime_sdk]
    code = f"import sys; sys.path[:0] = {path!r}\n{PROBE}"
    out = subprocess.run(
        [sys.executable, "-I", "-B", "-c", code], cwd=task, env=ENV, capture_output=True, text=True, check=True
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--package", type=Path, default=Path("build/chalice"))
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        task, opt = Path(scratch, "task"), Path(scratch, "opt")
        zipfile.ZipFile(args.package / "deployment.zip").extractall(task)
        layer = args.package / "layer.zip"
        if layer.is_file():
            zipfile.ZipFile(layer).extractall(opt)
        runs = [run_once(task, opt) for _ in range(args.runs)]
    for key, label in (("import_ms", "cold import app"), ("first_ms", "first invocation")):
        values = sorted(r[key] for r in runs)
        print(f"{label}: min {values[0]:.0f} ms, median {statistics.median(values):.0f} ms, max {values[-1]:.0f} ms")
    print(f"health status: {sorted({int(r['status']) for r in runs})} (503: the AWS endpoint is a closed port)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
