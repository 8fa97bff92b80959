"""Calls Bellwether's public gRPC API from Python, with stubs generated from
protos/ at test time, and lists the services through server reflection.

Usage: interop.py STUBS_DIR HOST:PORT   (prints one JSON line of results)
"""
import hashlib
import json
import sys

sys.path.insert(0, sys.argv[1])

import grpc  # noqa: E402
from google.protobuf.wrappers_pb2 import BoolValue  # noqa: E402

import kv_pb2  # noqa: E402
import kv_pb2_grpc  # noqa: E402
import cluster_pb2  # noqa: E402
import cluster_pb2_grpc  # noqa: E402
import maintenance_pb2  # noqa: E402
import maintenance_pb2_grpc  # noqa: E402
import lease_pb2  # noqa: E402
import lease_pb2_grpc  # noqa: E402
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
    # A value at the 1 MiB limit travels whole (the default receive limit of grpcio is 4 MiB).
    big = bytes(range(256)) * 4096
    kv.Put(kv_pb2.PutRequest(key=b"py-big", value=big), timeout=60)
    got_big = kv.Get(
        kv_pb2.GetRequest(key=b"py-big", read=kv_pb2.ReadOptions(mode=kv_pb2.READ_MODE_LINEARIZABLE)),
        timeout=60,
    )
    out["big_value"] = [len(got_big.kv.value), hashlib.sha256(got_big.kv.value).hexdigest() == hashlib.sha256(big).hexdigest()]
    # Range pages stop at the member's byte budget (3 MiB of keys and values by
    # default) and continue with `continuation`, so a page fits grpcio's 4 MiB.
    for i in range(4):
        kv.Put(kv_pb2.PutRequest(key=b"py-page/%d" % i, value=big), timeout=60)
    pages, continuation = [], b""
    while True:
        page = kv.Range(kv_pb2.RangeRequest(prefix=b"py-page/", continuation=continuation), timeout=60)
        pages.append([item.key.decode() for item in page.kvs])
        if not page.more:
            break
        continuation = page.continuation
    out["range_pages"] = pages
    keys_only = kv.Range(kv_pb2.RangeRequest(prefix=b"py-page/", keys_only=True), timeout=60)
    out["range_keys_only"] = [len(keys_only.kvs), sum(len(item.value) for item in keys_only.kvs), keys_only.more]
    deleted = kv.Delete(kv_pb2.DeleteRequest(key=b"py/2"), timeout=5)
    out["deleted"] = deleted.deleted
    try:
        kv.Put(kv_pb2.PutRequest(key=b"", value=b"x"), timeout=5)
        out["empty_key"] = "accepted"
    except grpc.RpcError as err:
        out["empty_key"] = [err.code().name, err.details()]

    # A transaction: put py/stock only if it is absent, read it back in the same revision.
    absent = kv_pb2.Compare(key=b"py/stock", target=kv_pb2.Compare.VERSION, result=kv_pb2.Compare.EQUAL, version=0)
    txn = kv.Txn(
        kv_pb2.TxnRequest(
            compare=[absent],
            success=[
                kv_pb2.RequestOp(put=kv_pb2.PutRequest(key=b"py/stock", value=b"3")),
                kv_pb2.RequestOp(get=kv_pb2.GetRequest(key=b"py/stock")),
            ],
            failure=[kv_pb2.RequestOp(get=kv_pb2.GetRequest(key=b"py/stock"))],
            client_id="python",
            sequence=1,
        ),
        timeout=5,
    )
    out["txn"] = [txn.succeeded, txn.header.revision, txn.responses[1].get.kv.value.decode(), txn.responses[1].get.kv.mod_revision]
    again = kv.Txn(kv_pb2.TxnRequest(compare=[absent], failure=[kv_pb2.RequestOp(get=kv_pb2.GetRequest(key=b"py/stock"))]), timeout=5)
    out["txn_again"] = [again.succeeded, again.responses[0].get.kv.value.decode()]

    # A watch from the put's revision: replays py/1, then sees the transaction's write.
    def watch_requests():
        yield kv_pb2.WatchRequest(create_request=kv_pb2.WatchCreateRequest(prefix=b"py/", start_revision=put.header.revision, prev_kv=True))

    events = []
    stream = kv.Watch(watch_requests(), timeout=10)
    for response in stream:
        if response.created:
            out["watch_created"] = True
        for ev in response.events:
            events.append([kv_pb2.Event.EventType.Name(ev.type), ev.kv.key.decode(), ev.kv.mod_revision])
        if len(events) >= 4:
            break
    stream.cancel()
    out["watch_events"] = events
    # A lease: grant, attach a key, renew once on the KeepAlive stream, look it up, list, revoke (the key goes).
    leases = lease_pb2_grpc.LeaseStub(channel)
    granted = leases.Grant(lease_pb2.LeaseGrantRequest(ttl_ms=5000, client_id="python", sequence=2), timeout=5)
    kv.Put(kv_pb2.PutRequest(key=b"py-leased", value=b"v", lease=granted.id), timeout=5)
    renewed = next(leases.KeepAlive(iter([lease_pb2.LeaseKeepAliveRequest(id=granted.id)]), timeout=5))
    ttl = leases.TimeToLive(lease_pb2.LeaseTimeToLiveRequest(id=granted.id, keys=True), timeout=5)
    listed = leases.List(lease_pb2.LeaseListRequest(), timeout=5)
    revoked = leases.Revoke(lease_pb2.LeaseRevokeRequest(id=granted.id, client_id="python", sequence=3), timeout=5)
    gone = kv.Get(kv_pb2.GetRequest(key=b"py-leased", read=kv_pb2.ReadOptions(mode=kv_pb2.READ_MODE_LINEARIZABLE)), timeout=5)
    try:
        leases.Revoke(lease_pb2.LeaseRevokeRequest(id=granted.id, client_id="python", sequence=4), timeout=5)
        revoke_again = "accepted"
    except grpc.RpcError as err:
        revoke_again = err.code().name
    out["lease"] = {
        "granted_ttl_ms": granted.ttl_ms,
        "renewed_ttl_ms": renewed.ttl_ms,
        "time_to_live": [0 < ttl.ttl_ms <= 5000, ttl.granted_ttl_ms, [k.decode() for k in ttl.keys]],
        "listed": any(item.id == granted.id for item in listed.leases),
        "revoked": [revoked.deleted, gone.HasField("kv")],
        "revoke_again": revoke_again,
    }

    status = cluster_pb2_grpc.ClusterStub(channel).Status(cluster_pb2.StatusRequest(), timeout=5)
    out["role"] = cluster_pb2.Role.Name(status.role)
    # WatchLeader: the first event names the leader and fingerprints the member list.
    watch = cluster_pb2_grpc.ClusterStub(channel).WatchLeader(cluster_pb2.WatchLeaderRequest(), timeout=5)
    first = next(watch)
    out["watch_leader_id"] = first.leader_id
    out["members_fingerprint"] = first.members_fingerprint
    watch.cancel()
    cluster = cluster_pb2_grpc.ClusterStub(channel)
    moved = cluster.TransferLeadership(cluster_pb2.TransferLeadershipRequest(target_id=status.member_id), timeout=5)
    out["transfer_to_self"] = [moved.leader_id, moved.term == status.term]
    for name, target in (("transfer_unknown", "n9"), ("transfer_alone", "")):
        try:
            cluster.TransferLeadership(cluster_pb2.TransferLeadershipRequest(target_id=target), timeout=5)
            out[name] = "accepted"
        except grpc.RpcError as err:
            out[name] = err.code().name

    # Membership: a learner is the default when `learner` is left unset.
    cluster = cluster_pb2_grpc.ClusterStub(channel)
    added = cluster.AddMember(cluster_pb2.AddMemberRequest(id="py-learner", peer_address="127.0.0.1:1"), timeout=5)
    out["added_role"] = cluster_pb2.MemberRole.Name(added.member.role)
    members = cluster.Members(cluster_pb2.MembersRequest(), timeout=5)
    out["members"] = sorted(
        [m.id, cluster_pb2.MemberRole.Name(m.role), len(m.incarnation)] for m in members.members
    )
    try:
        cluster.AddMember(
            cluster_pb2.AddMemberRequest(id="py-learner", peer_address="127.0.0.1:2", learner=BoolValue(value=True)),
            timeout=5,
        )
        out["duplicate"] = "accepted"
    except grpc.RpcError as err:
        out["duplicate"] = err.code().name
    removed = cluster.RemoveMember(cluster_pb2.RemoveMemberRequest(id="py-learner"), timeout=5)
    out["after_remove"] = sorted(m.id for m in removed.members)

    maintenance = maintenance_pb2_grpc.MaintenanceStub(channel)
    described = maintenance.Describe(maintenance_pb2.DescribeRequest(), timeout=5)
    out["describe"] = {"member_id": described.member_id, "version": described.version, "db_size_bytes": described.db_size_bytes}
    digest = hashlib.sha256()
    snapshot = {"data_bytes": 0}
    for part in maintenance.Snapshot(maintenance_pb2.SnapshotRequest(), timeout=10):
        kind = part.WhichOneof("part")
        if kind == "header":
            snapshot["revision"] = part.header.revision
        elif kind == "data":
            digest.update(part.data)
            snapshot["data_bytes"] += len(part.data)
        else:
            snapshot["checksum_ok"] = part.trailer.sha256 == digest.digest() and part.trailer.total_bytes == snapshot["data_bytes"]
    out["snapshot"] = snapshot

    reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
    responses = reflection.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=5)
    for response in responses:
        out["services"] = sorted(s.name for s in response.list_services_response.service)
        break
print(json.dumps(out))
