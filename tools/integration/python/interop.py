"""Calls Bellwether's public gRPC API from Python, with stubs generated from
protos/ at test time, and lists the services through server reflection.

Usage: interop.py STUBS_DIR HOST:PORT   (prints one JSON line of results)
"""
import json
import sys

sys.path.insert(0, sys.argv[1])

import grpc  # noqa: E402

import kv_pb2  # noqa: E402
import kv_pb2_grpc  # noqa: E402
import cluster_pb2  # noqa: E402
import cluster_pb2_grpc  # noqa: E402
import reflection_pb2  # noqa: E402
import reflection_pb2_grpc  # noqa: E402

address = sys.argv[2]
out = {}
with grpc.insecure_channel(address) as channel:
    kv = kv_pb2_grpc.KVStub(channel)
    put = kv.Put(kv_pb2.PutRequest(key=b"py/1", value=b"from python"), timeout=5)
    out["put_revision"] = put.header.revision
    kv.Put(kv_pb2.PutRequest(key=b"py/2", value=b"second"), timeout=5)
    got = kv.Get(
        kv_pb2.GetRequest(key=b"py/1", read=kv_pb2.ReadOptions(mode=kv_pb2.READ_MODE_LINEARIZABLE)),
        timeout=5,
    )
    out["get_value"] = got.kv.value.decode()
    out["get_mod_revision"] = got.kv.mod_revision
    rng = kv.Range(kv_pb2.RangeRequest(prefix=b"py/"), timeout=5)
    out["range_keys"] = [item.key.decode() for item in rng.kvs]
    deleted = kv.Delete(kv_pb2.DeleteRequest(key=b"py/2"), timeout=5)
    out["deleted"] = deleted.deleted
    try:
        kv.Put(kv_pb2.PutRequest(key=b"", value=b"x"), timeout=5)
        out["empty_key"] = "accepted"
    except grpc.RpcError as err:
        out["empty_key"] = [err.code().name, err.details()]
    status = cluster_pb2_grpc.ClusterStub(channel).Status(cluster_pb2.StatusRequest(), timeout=5)
    out["role"] = cluster_pb2.Role.Name(status.role)
    # WatchLeader: the first event names the leader and fingerprints the member list.
    watch = cluster_pb2_grpc.ClusterStub(channel).WatchLeader(cluster_pb2.WatchLeaderRequest(), timeout=5)
    first = next(watch)
    out["watch_leader_id"] = first.leader_id
    out["members_fingerprint"] = first.members_fingerprint
    watch.cancel()

    reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
    responses = reflection.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=5)
    for response in responses:
        out["services"] = sorted(s.name for s in response.list_services_response.service)
        break
print(json.dumps(out))
