"""Second gRPC stack: Python grpcio with hand-encoded protobuf and identity serializers.

Usage: python_caller.py HOST:PORT         -> ListVirtualAgents: prints one virtual_agent_id per line.
       python_caller.py HOST:PORT --call  -> a call as WxCC makes it: SESSION_START, START_OF_DTMF, DTMF 6;
                                             prints one line per turn: response types and output event types.
       python_caller.py --selftest        -> checks the codec only (no grpc needed).
"""
import sys

SERVICE = "/com.cisco.wcc.ccai.media.v1.VoiceVirtualAgent/"
RESPONSE_TYPES = {0: "FINAL", 1: "PARTIAL", 2: "CHUNK"}
EVENTS = {1: "SESSION_END", 2: "TRANSFER_TO_AGENT", 3: "CUSTOM_EVENT", 4: "START_OF_INPUT", 5: "END_OF_INPUT", 7: "NO_INPUT"}


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


def ld(num, payload):
    """A length-delimited field."""
    return varint(num << 3 | 2) + varint(len(payload)) + payload


def voice_va_request(conversation, event_type=None, dtmf=None):
    # VoiceVARequest: 1 conversation_id; 7 dtmf_input {1 packed dtmf_events}; 8 event_input {1 event_type}
    msg = ld(1, conversation.encode())
    if event_type is not None:
        msg += ld(8, b"\x08" + varint(event_type))
    if dtmf is not None:
        msg += ld(7, ld(1, b"".join(varint(d) for d in dtmf)))
    return msg


def describe(response):
    """'FINAL' / 'PARTIAL' ... followed by the output event types and whether prompt audio is a WAV."""
    rtype, events, wav = 0, [], False
    for num, _, v in fields(response):
        if num == 8:
            rtype = v
        elif num == 2:
            for n2, _, v2 in fields(v):
                if n2 == 1:
                    events.append(EVENTS.get(v2, str(v2)))
        elif num == 1:
            for n2, _, v2 in fields(v):
                if n2 == 3 and v2[:4] == b"RIFF":
                    wav = True
    return " ".join([RESPONSE_TYPES.get(rtype, str(rtype))] + events + (["wav"] if wav else []))


def turn(channel, *requests):
    call = channel.stream_stream(SERVICE + "ProcessCallerInput", request_serializer=None, response_deserializer=None)
    return ",".join(describe(r) for r in call(iter(requests), timeout=5)) or "-"


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
        assert voice_va_request("c", dtmf=[6]) == b"\x0a\x01c\x3a\x03\x0a\x01\x06"
        assert describe(b"\x12\x02\x08\x01\x40\x00") == "FINAL SESSION_END"
        print("ok")
        return
    import grpc

    with grpc.insecure_channel(sys.argv[1]) as ch:
        if sys.argv[2:] == ["--call"]:
            conv = "python-call-1"
            print(turn(ch, voice_va_request(conv, event_type=1)))  # SESSION_START
            print(turn(ch, voice_va_request(conv, event_type=4)))  # START_OF_DTMF
            print(turn(ch, voice_va_request(conv, dtmf=[6])))  # goodbye
            return
        call = ch.unary_unary(SERVICE + "ListVirtualAgents", request_serializer=None, response_deserializer=None)
        res = call(list_va_request("org-1"), timeout=5)
    for a in agent_ids(res):
        print(a)


if __name__ == "__main__":
    main()
