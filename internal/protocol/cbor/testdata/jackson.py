"""Jackson's CBORGenerator write rules, as the AWS SDK for Java v2 drives them for Kinesis.

Written by hand from the sources (read, not run; no Java here):
  - FasterXML/jackson-dataformats-binary cbor/src/main/java/com/fasterxml/jackson/dataformat/cbor/
    CBORGenerator.java: writeStartObject()/writeStartArray() write 0xBF/0x9F (indefinite length) and
    writeEndObject()/writeEndArray() 0xFF; _writeString: <=23 chars one-byte head, <=255 chars 0x78 len,
    <=MAX_LONG_STRING_CHARS (16000/4-4 = 3996) chars 0x79 len16, longer strings 0x7F + 0x79 chunks of
    3996 chars + 0xFF; writeBinary: definite byte string (_writeLengthMarker, shortest form);
    writeNumber(int)/(long) with WRITE_MINIMAL_INTS (default on): shortest form, but a long l with
    0 <= l <= 0x100000000 goes through _writeIntMinimal((int) l); writeBoolean 0xF5/0xF4;
    writeTag(n): _writeLengthMarker(PREFIX_TYPE_TAG, n); WRITE_TYPE_HEADER off (no 55799 tag).
  - aws/aws-sdk-java-v2 core/protocols/aws-cbor-protocol/.../SdkCborGenerator.java: a timestamp is
    writeTag(1) then writeNumber(instant.toEpochMilli()).
  - aws/aws-sdk-java-v2 core/protocols/aws-json-protocol/.../SdkJsonGenerator.java: blobs are
    generator.writeBinary(bytes); structures writeStartObject(); lists writeStartArray(); Integer
    members writeNumber(int); strings writeString.
Members are written in the order of the service model (service-2.json), unset members not at all.
"""

MAX_LONG_STRING_CHARS = 16000 // 4 - 4  # 3996


def _head(major, n):
    m = major << 5
    if n < 24:
        return bytes([m | n])
    if n <= 0xFF:
        return bytes([m | 24, n])
    if n <= 0xFFFF:
        return bytes([m | 25]) + n.to_bytes(2, "big")
    if n <= 0xFFFFFFFF:
        return bytes([m | 26]) + n.to_bytes(4, "big")
    return bytes([m | 27]) + n.to_bytes(8, "big")


def integer(i):
    """writeNumber(int) (Java int members: ShardCount, Limit, ...)."""
    assert -(2**31) <= i < 2**31
    return _head(0, i) if i >= 0 else _head(1, -i - 1)


def long(l):
    """writeNumber(long) with WRITE_MINIMAL_INTS, including its (int) cast for l <= 0x100000000."""
    if 0 <= l <= 0x100000000:
        return _head(0, l & 0xFFFFFFFF)  # (int) l, read back unsigned by _writeIntMinimal
    if -0x100000000 <= l < 0:
        return _head(1, (-l - 1) & 0xFFFFFFFF)
    return bytes([0x1B if l >= 0 else 0x3B]) + (l if l >= 0 else -l - 1).to_bytes(8, "big")


def _short_text(s):
    b = s.encode("utf-8")
    if len(s) <= 23 and len(b) <= 23:
        return bytes([0x60 | len(b)]) + b
    if len(s) <= 255 and len(b) <= 255:
        return bytes([0x78, len(b)]) + b
    return bytes([0x79]) + len(b).to_bytes(2, "big") + b


def text(s):
    """writeString / writeFieldName."""
    if len(s) <= MAX_LONG_STRING_CHARS:
        return _short_text(s)
    out = b"\x7f"
    while len(s) > MAX_LONG_STRING_CHARS:
        chunk, s = s[:MAX_LONG_STRING_CHARS], s[MAX_LONG_STRING_CHARS:]
        b = chunk.encode("utf-8")
        out += bytes([0x79]) + len(b).to_bytes(2, "big") + b
    if s:
        out += _short_text(s)
    return out + b"\xff"


def blob(b):
    """writeBinary(byte[])."""
    return _head(2, len(b)) + b


def boolean(v):
    return b"\xf5" if v else b"\xf4"


def timestamp_ms(ms):
    """SdkCborGenerator.writeValue(Instant): writeTag(1); writeNumber(toEpochMilli())."""
    return _head(6, 1) + long(ms)


def obj(*members):
    """writeStartObject(), then name/value pairs in model order, writeEndObject()."""
    out = b"\xbf"
    for name, value in members:
        out += text(name) + value
    return out + b"\xff"


def arr(*items):
    """writeStartArray(), items, writeEndArray()."""
    return b"\x9f" + b"".join(items) + b"\xff"
