"""Calls Bellwether over TLS from Python (grpcio), with stubs generated from
protos/ at test time; checks that plaintext to the same port is refused.

Usage: tls_interop.py STUBS_DIR HOST:PORT CA_FILE [USER PASSWORD]
  With USER and PASSWORD it authenticates (Auth.Authenticate) and sends the
  token as `authorization: Bearer <token>` metadata; its writes go to py/.
Prints one JSON line of results.
"""
import json
import sys

sys.path.insert(0, sys.argv[1])

import grpc  # noqa: E402

import kv_pb2  # noqa: E402
import kv_pb2_grpc  # noqa: E402
import cluster_pb2  # noqa: E402
import cluster_pb2_grpc  # noqa: E402
import auth_pb2  # noqa: E402
import auth_pb2_grpc  # noqa: E402

address, ca_file = sys.argv[2], sys.argv[3]
user = sys.argv[4] if len(sys.argv) > 5 else None
password = sys.argv[5] if len(sys.argv) > 5 else None
with open(ca_file, "rb") as f:
    credentials = grpc.ssl_channel_credentials(root_certificates=f.read())

out = {}
with grpc.secure_channel(address, credentials) as channel:
    token = None
    if user:
        auth = auth_pb2_grpc.AuthStub(channel)
        login = auth.Authenticate(auth_pb2.AuthenticateRequest(name=user, password=password), timeout=10)
        token = login.token
        out["ttl_seconds"] = login.ttl_seconds
    metadata = [("authorization", "Bearer " + token)] if token else None
    kv = kv_pb2_grpc.KVStub(channel)
    put = kv.Put(kv_pb2.PutRequest(key=b"py/tls", value=b"over tls"), timeout=10, metadata=metadata)
    out["put_revision"] = put.header.revision
    got = kv.Get(
        kv_pb2.GetRequest(key=b"py/tls", read=kv_pb2.ReadOptions(mode=kv_pb2.READ_MODE_LINEARIZABLE)),
        timeout=10,
        metadata=metadata,
    )
    out["get_value"] = got.kv.value.decode()
    status = cluster_pb2_grpc.ClusterStub(channel).Status(cluster_pb2.StatusRequest(), timeout=10, metadata=metadata)
    out["member_id"] = status.member_id
    if token:
        try:
            kv.Put(kv_pb2.PutRequest(key=b"other/py", value=b"x"), timeout=10, metadata=metadata)
            out["outside_prefix"] = "accepted"
        except grpc.RpcError as err:
            out["outside_prefix"] = err.code().name
        try:
            kv.Get(kv_pb2.GetRequest(key=b"py/tls"), timeout=10)
            out["no_token"] = "accepted"
        except grpc.RpcError as err:
            out["no_token"] = err.code().name

with grpc.insecure_channel(address) as channel:
    try:
        cluster_pb2_grpc.ClusterStub(channel).Status(cluster_pb2.StatusRequest(), timeout=3)
        out["plaintext"] = "accepted"
    except grpc.RpcError as err:
        out["plaintext"] = err.code().name
print(json.dumps(out))
