"""A full pending-writes budget, seen from Python: a leader that cannot commit
(the test has stopped its followers) refuses the writes that do not fit with
RESOURCE_EXHAUSTED and a retry hint in the trailing metadata, before their
deadline, instead of letting them time out.

Usage: budget_interop.py STUBS_DIR HOST:PORT VALUE_BYTES COUNT
(prints one JSON line: each call's code, and the first refusal's details and hint)
"""
import json
import sys

sys.path.insert(0, sys.argv[1])

import grpc  # noqa: E402

import kv_pb2  # noqa: E402
import kv_pb2_grpc  # noqa: E402

RETRY_AFTER = "bellwether-retry-after-ms"

address, value_bytes, count = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
value = b"p" * value_bytes
out = {"codes": [], "refused": []}
with grpc.insecure_channel(address) as channel:
    kv = kv_pb2_grpc.KVStub(channel)
    calls = [kv.Put.future(kv_pb2.PutRequest(key=b"py-budget/%d" % i, value=value), timeout=4) for i in range(count)]
    for i, call in enumerate(calls):
        try:
            call.result()
            out["codes"].append("OK")
        except grpc.RpcError as err:
            out["codes"].append(err.code().name)
            if err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED:
                hint = dict(err.trailing_metadata() or ()).get(RETRY_AFTER)
                out["refused"].append({"key": "py-budget/%d" % i, "details": err.details(), "retry_after_ms": hint})
print(json.dumps(out))
