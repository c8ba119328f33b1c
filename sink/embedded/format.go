package embedded

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/coattailcapital/ctc/internal/binx"
	"hash/crc32"
	"io"
	"time"

	"github.com/coattailcapital/ctc"
)

// The file layout (see the package documentation):
//
//	file    = magic record*
//	magic   = "CTCHOT" 0x00 version(1 byte)
//	record  = length(uint32 LE) crc(uint32 LE) payload[length]
//	payload = kind(1 byte) body
//
// crc is the CRC-32C (Castagnoli) of the payload.
const (
	magic      = "CTCHOT\x00\x01"
	headerSize = int64(len(magic))
	frameSize  = 8
	// MaxRecordSize bounds one record's payload, so that a length torn or garbled by a crash is
	// recognised as such instead of being allocated. An alert needs a few hundred bytes.
	MaxRecordSize = 1 << 20
)

type kind byte

const (
	kindAlert  kind = 1
	kindVolume kind = 2
	kindSpread kind = 3
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// beginRecord appends a frame with room for the length and checksum, and the kind.
func beginRecord(b []byte, k kind) []byte {
	return append(b, 0, 0, 0, 0, 0, 0, 0, 0, byte(k))
}

// endRecord fills in the frame of the record that starts at start.
func endRecord(b []byte, start int) ([]byte, error) {
	payload := b[start+frameSize:]
	if len(payload) > MaxRecordSize {
		return b[:start], fmt.Errorf("embedded: a record of %d bytes exceeds the %d-byte limit (a message that long is a bug upstream)", len(payload), MaxRecordSize)
	}
	binary.LittleEndian.PutUint32(b[start:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(b[start+4:], crc32.Checksum(payload, castagnoli))
	return b, nil
}

// putTime writes an instant as Unix seconds and nanoseconds, which covers every time.Time (the zero
// time included) where Unix nanoseconds would overflow outside 1678–2262. The zone is not kept.
func putTime(b []byte, t time.Time) []byte {
	b = binary.AppendVarint(b, t.Unix())
	return binary.AppendUvarint(b, uint64(t.Nanosecond()))
}

func appendAlert(b []byte, a *ctc.Alert) ([]byte, error) {
	start := len(b)
	b = beginRecord(b, kindAlert)
	b = append(b, a.AlertID[:]...)
	b = binx.AppendBytes(b, string(a.AlertType))
	b = binx.AppendBytes(b, a.Symbol)
	b = binx.AppendBytes(b, a.Exchange)
	b = append(b, byte(a.Severity))
	b = binx.AppendFloat64(b, a.ZScore)
	b = binx.AppendFloat64(b, a.ThresholdValue)
	b = binx.AppendFloat64(b, a.ActualValue)
	b = putTime(b, a.WindowStart)
	b = putTime(b, a.DetectedAt)
	b = binx.AppendBytes(b, a.Message)
	b = binary.AppendVarint(b, a.TTLEpoch)
	b = putTime(b, a.EmittedAt)
	return endRecord(b, start)
}

func appendVolume(b []byte, v *ctc.VolumeWindow) ([]byte, error) {
	start := len(b)
	b = beginRecord(b, kindVolume)
	b = binx.AppendBytes(b, v.Symbol)
	b = binx.AppendBytes(b, v.Exchange)
	b = putTime(b, v.WindowStart)
	b = putTime(b, v.WindowEnd)
	b = binary.AppendVarint(b, v.TradeCount)
	for _, f := range [...]float64{v.TotalVolume, v.AvgPrice, v.MaxPrice, v.MinPrice, v.BuyVolume, v.SellVolume} {
		b = binx.AppendFloat64(b, f)
	}
	return endRecord(b, start)
}

func appendSpread(b []byte, w *ctc.SpreadWindow) ([]byte, error) {
	start := len(b)
	b = beginRecord(b, kindSpread)
	b = binx.AppendBytes(b, w.Symbol)
	b = putTime(b, w.WindowStart)
	b = putTime(b, w.WindowEnd)
	b = binx.AppendFloat64(b, w.BinanceVWAP)
	b = binx.AppendFloat64(b, w.CoinbaseVWAP)
	b = binx.AppendFloat64(b, w.SpreadPct)
	return endRecord(b, start)
}

// decoder reads a payload's fields with binx's primitives; the first error sticks and later
// reads return zero values.
type decoder struct {
	binx.Reader
	intern func([]byte) string
}

// str decodes a string, interned if intern is set: symbols, exchanges and types repeat on every
// record, so a reopened store holds one copy of each.
func (d *decoder) str(intern bool) string {
	b := d.Bytes()
	if intern && d.intern != nil {
		return d.intern(b)
	}
	return string(b)
}

func (d *decoder) time() time.Time {
	sec := d.Varint()
	nsec := d.Uvarint()
	if nsec >= 1e9 {
		d.Fail(fmt.Sprintf("nanoseconds %d out of range", nsec))
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec)).UTC()
}

func (d *decoder) end() error {
	if d.Err() == nil && len(d.B) > 0 {
		d.Fail(fmt.Sprintf("%d bytes after the last field", len(d.B)))
	}
	return d.Err()
}

func (d *decoder) alert() (a ctc.Alert, err error) {
	copy(a.AlertID[:], d.Take(16))
	a.AlertType = ctc.AlertType(d.str(true))
	a.Symbol = d.str(true)
	a.Exchange = d.str(true)
	if sev := d.Take(1); sev != nil {
		a.Severity = ctc.Severity(sev[0])
	}
	a.ZScore = d.Float64()
	a.ThresholdValue = d.Float64()
	a.ActualValue = d.Float64()
	a.WindowStart = d.time()
	a.DetectedAt = d.time()
	a.Message = d.str(false)
	a.TTLEpoch = d.Varint()
	a.EmittedAt = d.time()
	return a, d.end()
}

func (d *decoder) volume() (v ctc.VolumeWindow, err error) {
	v.Symbol = d.str(true)
	v.Exchange = d.str(true)
	v.WindowStart = d.time()
	v.WindowEnd = d.time()
	v.TradeCount = d.Varint()
	v.TotalVolume = d.Float64()
	v.AvgPrice = d.Float64()
	v.MaxPrice = d.Float64()
	v.MinPrice = d.Float64()
	v.BuyVolume = d.Float64()
	v.SellVolume = d.Float64()
	return v, d.end()
}

func (d *decoder) spread() (w ctc.SpreadWindow, err error) {
	w.Symbol = d.str(true)
	w.WindowStart = d.time()
	w.WindowEnd = d.time()
	w.BinanceVWAP = d.Float64()
	w.CoinbaseVWAP = d.Float64()
	w.SpreadPct = d.Float64()
	return w, d.end()
}

// ErrCorrupt is wrapped by the errors of Open and ReadFile for a file they cannot read: not a store
// file, a newer format, or a record whose checksum holds but whose content does not decode. Damage
// that checksums catch is not an error: see the package documentation on recovery.
var ErrCorrupt = errors.New("embedded: corrupt store file")

func corrupt(path string, off int64, format string, args ...any) error {
	return fmt.Errorf("%w %s: record at offset %d: %s; move the file aside to start an empty store, or truncate it to %d bytes to keep the records before it",
		ErrCorrupt, path, off, fmt.Sprintf(format, args...), off)
}

// errTorn reports that the rest of the file, from the scanner's offset, holds no intact record: a
// crash cut the last write short.
var errTorn = errors.New("torn record")

// scanner reads a store file's records in order.
type scanner struct {
	path string
	ra   io.ReaderAt
	r    *bufio.Reader
	off  int64 // offset of the next record
	size int64
	buf  []byte
	// skipped counts the bytes of damaged records passed over in the middle of the file.
	skipped int64
}

func newScanner(path string, f io.ReaderAt, size int64) *scanner {
	return &scanner{path: path, ra: f, size: size, r: bufio.NewReaderSize(io.NewSectionReader(f, 0, size), 1<<20)}
}

// header checks the magic. A file shorter than the magic that begins like it was cut short while
// being created, and reads as empty.
func (sc *scanner) header() (empty bool, err error) {
	var m [headerSize]byte
	n, err := io.ReadFull(sc.r, m[:])
	switch {
	case err == nil:
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		if string(m[:n]) == magic[:n] {
			return true, nil
		}
	default:
		return false, fmt.Errorf("embedded: read %s: %w", sc.path, err)
	}
	if string(m[:6]) != magic[:6] || m[6] != 0 {
		return false, fmt.Errorf("%w: %s is not a ctc alert store file; pass the path of one, or of a file that does not exist yet", ErrCorrupt, sc.path)
	}
	if m[7] != magic[7] {
		return false, fmt.Errorf("%w: %s has format version %d, this build reads version %d; use a newer build", ErrCorrupt, sc.path, m[7], magic[7])
	}
	sc.off = headerSize
	return false, nil
}

// next returns the next intact record's kind and body (valid until the next call), io.EOF at the
// end of the file, or errTorn if the rest of the file, from sc.off, holds no intact record. A
// damaged record followed by intact ones is skipped and counted in sc.skipped.
func (sc *scanner) next() (kind, []byte, error) {
	for {
		if sc.off == sc.size {
			return 0, nil, io.EOF
		}
		k, body, ok, err := sc.read()
		if err != nil || ok {
			return k, body, err
		}
		next, found, err := sc.findIntact(sc.off + 1)
		if err != nil {
			return 0, nil, err
		}
		if !found {
			return 0, nil, errTorn
		}
		sc.skipped += next - sc.off
		sc.off = next
		sc.r.Reset(io.NewSectionReader(sc.ra, next, sc.size-next))
	}
}

// read reads the record at sc.off and reports whether it is intact.
func (sc *scanner) read() (kind, []byte, bool, error) {
	rest := sc.size - sc.off
	if rest < frameSize+1 {
		return 0, nil, false, nil
	}
	var frame [frameSize]byte
	if _, err := io.ReadFull(sc.r, frame[:]); err != nil {
		return 0, nil, false, fmt.Errorf("embedded: read %s: %w", sc.path, err)
	}
	n := int64(binary.LittleEndian.Uint32(frame[:]))
	if n == 0 || n > MaxRecordSize || frameSize+n > rest {
		return 0, nil, false, nil
	}
	if int64(cap(sc.buf)) < n {
		sc.buf = make([]byte, n)
	}
	payload := sc.buf[:n]
	if _, err := io.ReadFull(sc.r, payload); err != nil {
		return 0, nil, false, fmt.Errorf("embedded: read %s: %w", sc.path, err)
	}
	if crc32.Checksum(payload, castagnoli) != binary.LittleEndian.Uint32(frame[4:]) {
		return 0, nil, false, nil
	}
	sc.off += frameSize + n
	return kind(payload[0]), payload[1:], true, nil
}

// findIntact looks for the next intact record at or after from. It reads the rest of the file at
// once: this runs only after a crash or damage, and the file is small enough to hold.
func (sc *scanner) findIntact(from int64) (int64, bool, error) {
	if from >= sc.size {
		return 0, false, nil
	}
	rest := make([]byte, sc.size-from)
	if _, err := sc.ra.ReadAt(rest, from); err != nil && !errors.Is(err, io.EOF) {
		return 0, false, fmt.Errorf("embedded: read %s: %w", sc.path, err)
	}
	for i := 0; i+frameSize+1 <= len(rest); i++ {
		n := int(binary.LittleEndian.Uint32(rest[i:]))
		if n == 0 || n > MaxRecordSize || i+frameSize+n > len(rest) {
			continue
		}
		payload := rest[i+frameSize : i+frameSize+n]
		if k := kind(payload[0]); k >= kindAlert && k <= kindSpread &&
			crc32.Checksum(payload, castagnoli) == binary.LittleEndian.Uint32(rest[i+4:]) {
			return from + int64(i), true, nil
		}
	}
	return 0, false, nil
}
