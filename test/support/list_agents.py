"""Second gRPC stack: calls ListVirtualAgents with Python grpcio, hand-encoded protobuf, identity serializers.

Usage: list_agents.py HOST:PORT   -> prints one virtual_agent_id per line.
       list_agents.py --selftest  -> checks the codec only (no grpc needed).
"""
import sys

METHOD = "/com.cisco.wcc.ccai.media.v1.VoiceVirtualAgent/ListVirtualAgents"


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def list_va_request(org):
    # ListVARequest: 1 customer_org_id (string), 2 is_default_virtual_agent_enabled (bool)
    o = org.encode()
    return b"\x0a" + varint(len(o)) + o + b"\x10\x01"


def fields(buf):
    """Yields (field number, wire type, value) of one message; values of length-delimited fields are bytes."""
    i = 0
    while i < len(buf):
        key, i = read_varint(buf, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = read_varint(buf, i)
        elif wt == 2:
            n, i = read_varint(buf, i)
            v, i = buf[i:i + n], i + n
        elif wt == 1:
            v, i = buf[i:i + 8], i + 8
        elif wt == 5:
            v, i = buf[i:i + 4], i + 4
        else:
            raise ValueError("unexpected wire type %d" % wt)
        yield num, wt, v


def read_varint(buf, i):
    shift = result = 0
    while True:
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return result, i


def agent_ids(list_va_response):
    # ListVAResponse.virtual_agents = 1 -> VirtualAgentInfo.virtual_agent_id = 1
    return [
        v2.decode()
        for num, _, v in fields(list_va_response) if num == 1
        for n2, _, v2 in fields(v) if n2 == 1
    ]


def main():
    if sys.argv[1] == "--selftest":
        info = b"\x0a\x05Bot A\x18\x01"
        assert agent_ids(b"\x0a" + varint(len(info)) + info) == ["Bot A"]
        assert list_va_request("o") == b"\x0a\x01o\x10\x01"
        print("ok")
        return
    import grpc

    with grpc.insecure_channel(sys.argv[1]) as ch:
        call = ch.unary_unary(METHOD, request_serializer=None, response_deserializer=None)
        res = call(list_va_request("org-1"), timeout=5)
    for a in agent_ids(res):
        print(a)


if __name__ == "__main__":
    main()
