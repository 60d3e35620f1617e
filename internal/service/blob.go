package service

// Blob is a blob member (a record's Data): bytes, which the codecs at the edge read from their wire
// form (base64 text in JSON, a byte string in CBOR).
type Blob []byte
