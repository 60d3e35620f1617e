package archive

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// appendPayload appends item's payload encoding to b.
func appendPayload(b []byte, item Item) []byte {
	switch it := item.(type) {
	case *Meta:
		b = appendString(b, it.Key)
		return append(b, it.Value...)
	case *Stream:
		b = appendString(b, it.Key)
		return append(b, it.Doc...)
	case *Shard:
		return binary.AppendUvarint(b, uint64(it.Index))
	case *Record:
		b = binary.AppendUvarint(b, it.Offset)
		b = binary.AppendVarint(b, it.ArrivalMilli)
		b = appendString(b, it.PartitionKey)
		return append(b, it.Data...)
	case *ShardEnd:
		b = binary.AppendUvarint(b, uint64(it.Index))
		b = binary.AppendUvarint(b, it.Next)
		return binary.AppendUvarint(b, it.Records)
	case *StreamEnd:
		b = binary.AppendUvarint(b, it.Shards)
		return binary.AppendUvarint(b, it.Records)
	case *End:
		b = binary.AppendUvarint(b, it.Streams)
		b = binary.AppendUvarint(b, it.Records)
		return binary.AppendUvarint(b, it.Meta)
	}
	panic(fmt.Sprintf("archive: unknown item %T", item))
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// payload is a frame payload being decoded; the decoded byte slices alias it.
type payload struct {
	b   []byte
	err bool
}

func (p *payload) uvarint() uint64 {
	v, n := binary.Uvarint(p.b)
	if n <= 0 {
		p.err, p.b = true, nil
		return 0
	}
	p.b = p.b[n:]
	return v
}

func (p *payload) varint() int64 {
	v, n := binary.Varint(p.b)
	if n <= 0 {
		p.err, p.b = true, nil
		return 0
	}
	p.b = p.b[n:]
	return v
}

func (p *payload) bytes() []byte {
	n := p.uvarint()
	if n > uint64(len(p.b)) {
		p.err, p.b = true, nil
		return nil
	}
	v := p.b[:n:n]
	p.b = p.b[n:]
	return v
}

// rest returns what is left; nil when nothing is, so that decoding is the inverse of encoding.
func (p *payload) rest() []byte {
	if len(p.b) == 0 {
		return nil
	}
	v := p.b
	p.b = nil
	return v
}

// end reports whether decoding consumed the payload exactly.
func (p *payload) end() bool { return !p.err && len(p.b) == 0 }

// decodePayload decodes the payload of a frame of kind k.
func decodePayload(k byte, b []byte) (Item, error) {
	p := &payload{b: b}
	var item Item
	switch k {
	case kindMeta:
		key := string(p.bytes())
		item = &Meta{Key: key, Value: p.rest()}
	case kindStream:
		key := string(p.bytes())
		item = &Stream{Key: key, Doc: p.rest()}
	case kindShard:
		index := p.uvarint()
		if index > 1<<32-1 {
			p.err = true
		}
		item = &Shard{Index: uint32(index)}
	case kindRecord:
		r := &Record{Offset: p.uvarint(), ArrivalMilli: p.varint()}
		r.PartitionKey = string(p.bytes())
		r.Data = p.rest()
		item = r
	case kindShardEnd:
		index := p.uvarint()
		if index > 1<<32-1 {
			p.err = true
		}
		item = &ShardEnd{Index: uint32(index), Next: p.uvarint(), Records: p.uvarint()}
	case kindStreamEnd:
		item = &StreamEnd{Shards: p.uvarint(), Records: p.uvarint()}
	case kindEnd:
		item = &End{Streams: p.uvarint(), Records: p.uvarint(), Meta: p.uvarint()}
	default:
		return nil, fmt.Errorf("%w: unknown frame kind 0x%02x", ErrCorrupt, k)
	}
	if !p.end() {
		return nil, fmt.Errorf("%w: malformed %c frame", ErrCorrupt, k)
	}
	return item, nil
}

// WriterOptions change what NewWriter writes.
type WriterOptions struct {
	// Gzip compresses the whole archive (NewReader recognises it).
	Gzip bool
}

// Writer writes an archive. Its methods must be called in the order of the grammar (see the package
// doc); a call out of order returns an error wrapping ErrCorrupt and writes nothing.
type Writer struct {
	g     grammar
	out   *bufio.Writer
	gz    *gzip.Writer // nil without compression
	buf   []byte
	err   error // sticky: the first write error
	shard ShardEnd
	sEnd  StreamEnd
	end   End
}

// NewWriter writes the magic and h (Format is set to FormatVersion) to w.
func NewWriter(w io.Writer, h Header, opts WriterOptions) (*Writer, error) {
	aw := &Writer{g: grammar{streams: h.Streams}}
	if opts.Gzip {
		aw.gz = gzip.NewWriter(w)
		w = aw.gz
	}
	aw.out = bufio.NewWriterSize(w, 256<<10)
	h.Format = FormatVersion
	doc, err := json.Marshal(h)
	if err != nil {
		return nil, err
	}
	aw.out.WriteString(Magic)
	aw.frame(kindHeader, doc)
	return aw, aw.err
}

// frame writes one frame.
func (w *Writer) frame(k byte, payload []byte) {
	if w.err != nil {
		return
	}
	var head [1 + binary.MaxVarintLen64]byte
	head[0] = k
	n := 1 + binary.PutUvarint(head[1:], uint64(len(payload)))
	crc := crc32.Update(crc32.Update(0, castagnoli, head[:1]), castagnoli, payload)
	var sum [4]byte
	binary.BigEndian.PutUint32(sum[:], crc)
	w.out.Write(head[:n])
	w.out.Write(payload)
	if _, err := w.out.Write(sum[:]); err != nil {
		w.err = err
	}
}

// write checks item against the grammar and writes it.
func (w *Writer) write(item Item) error {
	if w.err != nil {
		return w.err
	}
	if err := w.g.accept(item); err != nil {
		return err
	}
	w.buf = appendPayload(w.buf[:0], item)
	if len(w.buf) > MaxPayload {
		w.err = fmt.Errorf("archive: %c frame of %d bytes is over the %d-byte limit", item.kind(), len(w.buf), MaxPayload)
		return w.err
	}
	w.frame(item.kind(), w.buf)
	return w.err
}

// Meta writes a metadata document; they all come before the first stream.
func (w *Writer) Meta(key string, value []byte) error {
	return w.write(&Meta{Key: key, Value: value})
}

// StartStream opens the stream with metadata key key (the next one Header.Streams lists) and document doc.
func (w *Writer) StartStream(key string, doc []byte) error {
	w.sEnd = StreamEnd{}
	return w.write(&Stream{Key: key, Doc: doc})
}

// StartShard opens a shard of the current stream; indices must increase.
func (w *Writer) StartShard(index uint32) error {
	w.shard = ShardEnd{Index: index}
	return w.write(&Shard{Index: index})
}

// Record writes a record of the current shard; offsets must increase.
func (w *Writer) Record(r *Record) error {
	if err := w.write(r); err != nil {
		return err
	}
	w.shard.Records++
	return nil
}

// EndShard closes the current shard; next must be above its last record's offset.
func (w *Writer) EndShard(next uint64) error {
	end := w.shard
	end.Next = next
	if err := w.write(&end); err != nil {
		return err
	}
	w.sEnd.Shards++
	w.sEnd.Records += end.Records
	return nil
}

// EndStream closes the current stream.
func (w *Writer) EndStream() error {
	if err := w.write(&w.sEnd); err != nil {
		return err
	}
	w.end.Streams++
	w.end.Records += w.sEnd.Records
	return nil
}

// Close writes the End frame and flushes everything (finishing the gzip stream); it does not close the
// underlying writer.
func (w *Writer) Close() error {
	end := w.end
	end.Meta = w.g.nMeta
	if err := w.write(&end); err != nil {
		return err
	}
	if err := w.out.Flush(); err != nil {
		return err
	}
	if w.gz != nil {
		return w.gz.Close()
	}
	return nil
}

// Reader reads an archive.
type Reader struct {
	in     *bufio.Reader
	header Header
	g      grammar
	pos    int64 // bytes read, after decompression
	done   bool
}

// NewReader reads the magic and the header from r, decompressing it first if it is gzip.
func NewReader(r io.Reader) (*Reader, error) {
	br := bufio.NewReaderSize(r, 256<<10)
	if sig, _ := br.Peek(2); len(sig) == 2 && sig[0] == 0x1f && sig[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("archive: gzip: %w", err)
		}
		br = bufio.NewReaderSize(gz, 256<<10)
	}
	ar := &Reader{in: br}
	magic := make([]byte, len(Magic))
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != Magic {
		return nil, fmt.Errorf("%w: not a kinesisd archive (it does not start with %q)", ErrCorrupt, Magic)
	}
	ar.pos = int64(len(Magic))
	k, raw, err := ar.frame()
	if err != nil {
		return nil, err
	}
	if k != kindHeader {
		return nil, fmt.Errorf("%w: first frame is %c, not the header", ErrCorrupt, k)
	}
	if err := json.Unmarshal(raw, &ar.header); err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrCorrupt, err)
	}
	if ar.header.Format != FormatVersion {
		return nil, fmt.Errorf("archive: format %d; this kinesisd reads format %d", ar.header.Format, FormatVersion)
	}
	ar.g.streams = ar.header.Streams
	return ar, nil
}

// Header returns the archive's header.
func (r *Reader) Header() Header { return r.header }

// Next returns the next item; its byte slices are the caller's to keep. After the End item it returns
// io.EOF, once it has checked that nothing follows.
func (r *Reader) Next() (Item, error) {
	if r.done {
		return nil, io.EOF
	}
	at := r.pos
	k, raw, err := r.frame()
	if err != nil {
		return nil, err
	}
	item, err := decodePayload(k, raw)
	if err == nil {
		err = r.g.accept(item)
	}
	if err != nil {
		return nil, fmt.Errorf("at byte %d: %w", at, err)
	}
	if _, ok := item.(*End); ok {
		if _, err := r.in.ReadByte(); err != io.EOF {
			if err == nil {
				err = fmt.Errorf("%w: data after the end of the archive", ErrCorrupt)
			}
			return nil, fmt.Errorf("at byte %d: %w", r.pos, err)
		}
		r.done = true
	}
	return item, nil
}

// frame reads one frame and checks its checksum.
func (r *Reader) frame() (byte, []byte, error) {
	at := r.pos
	k, err := r.in.ReadByte()
	if errors.Is(err, io.EOF) {
		return 0, nil, fmt.Errorf("at byte %d: %w: the archive ends without its end frame (cut short?)", at, ErrCorrupt)
	}
	if err != nil {
		return 0, nil, err
	}
	n, err := r.length()
	if err != nil {
		return 0, nil, r.short(at, err)
	}
	if n > MaxPayload {
		return 0, nil, fmt.Errorf("at byte %d: %w: frame of %d bytes is over the %d-byte limit", at, ErrCorrupt, n, MaxPayload)
	}
	var raw []byte
	if n <= 1<<20 {
		raw = make([]byte, n)
		_, err = io.ReadFull(r.in, raw)
	} else { // grow as the bytes arrive: a corrupt length must not allocate before the data is there
		raw, err = io.ReadAll(io.LimitReader(r.in, int64(n)))
		if err == nil && uint64(len(raw)) < n {
			err = io.ErrUnexpectedEOF
		}
	}
	var sum [4]byte
	if err == nil {
		_, err = io.ReadFull(r.in, sum[:])
	}
	if err != nil {
		return 0, nil, r.short(at, err)
	}
	crc := crc32.Update(crc32.Update(0, castagnoli, []byte{k}), castagnoli, raw)
	if crc != binary.BigEndian.Uint32(sum[:]) {
		return 0, nil, fmt.Errorf("at byte %d: %w: checksum mismatch in a %c frame", at, ErrCorrupt, k)
	}
	r.pos = at + 1 + int64(uvarintLen(n)) + int64(n) + 4
	return k, raw, nil
}

// length reads a frame's payload length: a varint of at most MaxVarintLen64 bytes.
func (r *Reader) length() (uint64, error) {
	var x uint64
	for i := range binary.MaxVarintLen64 {
		b, err := r.in.ReadByte()
		if err != nil {
			return 0, err
		}
		if b < 0x80 {
			if i == binary.MaxVarintLen64-1 && b > 1 {
				break
			}
			return x | uint64(b)<<(7*i), nil
		}
		x |= uint64(b&0x7f) << (7 * i)
	}
	return 0, fmt.Errorf("%w: frame length overflows", ErrCorrupt)
}

// short turns an error in the middle of a frame into ErrCorrupt when it is the input ending.
func (r *Reader) short(at int64, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("at byte %d: %w: the archive ends inside a frame (cut short?)", at, ErrCorrupt)
	}
	return err
}

func uvarintLen(x uint64) int {
	var b [binary.MaxVarintLen64]byte
	return binary.PutUvarint(b[:], x)
}
