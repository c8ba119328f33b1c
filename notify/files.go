package notify

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/internal/fsx"
)

// deliveryLog remembers what was delivered: an append-only NDJSON file of
// {"alert_id","revision","destination","delivered_at"}, one line per delivery, read whole at
// open into a map of the highest revision delivered per (alert, destination).
//
// A line is written (write(2), so that it survives the process being killed) before the worker
// moves on; a goroutine of the log's own fsyncs after writes, so that one fsync covers every line
// written while the previous one ran (group commit) and a burst of deliveries does not queue
// behind a disk flush each. sync makes everything written durable at once: Flush and Close call it.
type deliveryLog struct {
	mu        sync.Mutex // guards delivered
	delivered map[logKey]uint32

	fmu  sync.Mutex // guards f and buf, never held with mu
	f    *os.File
	buf  []byte
	path string

	dirty   chan struct{} // a line was written since the last fsync began
	stop    chan struct{}
	stopped chan struct{}
	onErr   func(error) // how a background fsync reports failing
}

type logKey struct {
	id   uuid.UUID
	dest string
}

// logRecord is one line of the delivery log.
type logRecord struct {
	AlertID     uuid.UUID `json:"alert_id"`
	Revision    uint32    `json:"revision"`
	Destination string    `json:"destination"`
	DeliveredAt time.Time `json:"delivered_at"`
}

// LogError is a delivery log that cannot be read: a line that is not a delivery record, short of
// the last (which a crash may have cut and is dropped).
type LogError struct {
	Path string
	Line int
	Err  error
}

func (e *LogError) Error() string {
	return fmt.Sprintf("notify: delivery log %s, line %d: %v; it is not a delivery log this version reads: move it away to start afresh (the alerts it lists may then be sent again)", e.Path, e.Line, e.Err)
}

func (e *LogError) Unwrap() error { return e.Err }

// maxLogLine bounds one line of the delivery log: a record is under 200 bytes.
const maxLogLine = 4 << 10

// openDeliveryLog reads the log at path, creating it if need be; "" keeps it in memory only.
// onErr hears of background fsyncs that fail.
func openDeliveryLog(path string, onErr func(error)) (*deliveryLog, error) {
	l := &deliveryLog{delivered: map[logKey]uint32{}, path: path, onErr: onErr}
	if path == "" {
		return l, nil
	}
	_, statErr := os.Stat(path)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("notify: open delivery log: %w", err)
	}
	if errors.Is(statErr, os.ErrNotExist) {
		if err := fsx.SyncDir(filepath.Dir(path)); err != nil {
			f.Close()
			return nil, fmt.Errorf("notify: create delivery log: %w", err)
		}
	}
	data, err := io.ReadAll(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("notify: read delivery log: %w", err)
	}
	// A crash during an append leaves a line without its newline: that delivery was not logged
	// (the crash window the package documentation describes). Cut it off, so that the next line
	// starts clean.
	whole := bytes.LastIndexByte(data, '\n') + 1
	if whole < len(data) {
		if err := f.Truncate(int64(whole)); err != nil {
			f.Close()
			return nil, fmt.Errorf("notify: cut the torn last line of the delivery log: %w", err)
		}
		data = data[:whole]
	}
	for n := 1; len(data) > 0; n++ {
		i := bytes.IndexByte(data, '\n')
		line := data[:i]
		data = data[i+1:]
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if len(line) > maxLogLine {
			f.Close()
			return nil, &LogError{path, n, fmt.Errorf("%d bytes long", len(line))}
		}
		var r logRecord
		if err := json.Unmarshal(line, &r); err != nil {
			f.Close()
			return nil, &LogError{path, n, err}
		}
		if r.AlertID == uuid.Nil || r.Destination == "" {
			f.Close()
			return nil, &LogError{path, n, errors.New("no alert_id or destination")}
		}
		l.note(logKey{r.AlertID, r.Destination}, r.Revision)
	}
	l.f = f
	l.dirty, l.stop, l.stopped = make(chan struct{}, 1), make(chan struct{}), make(chan struct{})
	go l.syncLoop()
	return l, nil
}

// syncLoop fsyncs the file whenever lines were written, until stop.
func (l *deliveryLog) syncLoop() {
	defer close(l.stopped)
	for {
		select {
		case <-l.dirty:
			if err := l.f.Sync(); err != nil && l.onErr != nil {
				l.onErr(fmt.Errorf("notify: fsync delivery log: %w", err))
			}
		case <-l.stop:
			return
		}
	}
}

// sync makes every line written so far durable.
func (l *deliveryLog) sync() error {
	if l.f == nil {
		return nil
	}
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("notify: fsync delivery log: %w", err)
	}
	return nil
}

func (l *deliveryLog) note(k logKey, rev uint32) {
	if old, ok := l.delivered[k]; !ok || rev > old {
		l.delivered[k] = rev
	}
}

// has reports whether revision rev of the alert, or a later one, reached dest.
func (l *deliveryLog) has(id uuid.UUID, dest string, rev uint32) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	old, ok := l.delivered[logKey{id, dest}]
	return ok && old >= rev
}

// record appends a delivery (the background fsync makes it durable soon after), then remembers
// it. The map is updated even if the file cannot be written: the alert was delivered, and this
// process must not send it again.
func (l *deliveryLog) record(id uuid.UUID, dest string, rev uint32, at time.Time) error {
	var err error
	if l.f != nil {
		l.fmu.Lock()
		l.buf = append(l.buf[:0], `{"alert_id":"`...)
		l.buf = append(l.buf, id.String()...)
		l.buf = append(l.buf, `","revision":`...)
		l.buf = strconv.AppendUint(l.buf, uint64(rev), 10)
		l.buf = append(l.buf, `,"destination":`...)
		l.buf = ctc.AppendJSONString(l.buf, dest)
		l.buf = append(l.buf, `,"delivered_at":"`...)
		l.buf = at.UTC().AppendFormat(l.buf, time.RFC3339Nano)
		l.buf = append(l.buf, "\"}\n"...)
		_, err = l.f.Write(l.buf)
		l.fmu.Unlock()
		select {
		case l.dirty <- struct{}{}:
		default:
		}
	}
	l.mu.Lock()
	l.note(logKey{id, dest}, rev)
	l.mu.Unlock()
	if err != nil {
		return fmt.Errorf("notify: append to delivery log: %w", err)
	}
	return nil
}

func (l *deliveryLog) close() error {
	if l.f == nil {
		return nil
	}
	close(l.stop)
	<-l.stopped
	l.fmu.Lock()
	defer l.fmu.Unlock()
	err := errors.Join(l.f.Sync(), l.f.Close())
	l.f = nil
	return err
}

// The reasons a notification goes to the dead letters.
const (
	// ReasonQueueFull: the destination's queue was full and this was its oldest alert.
	ReasonQueueFull = "queue_full"
	// ReasonAttempts: every attempt failed.
	ReasonAttempts = "attempts_exhausted"
	// ReasonExpired: the alert was older than MaxAge before it could be delivered (or the
	// service asked us to wait past that).
	ReasonExpired = "expired"
	// ReasonRejected: the service refused it for good (a 4xx other than 408 and 429).
	ReasonRejected = "rejected"
	// ReasonShutdown: Close's context ended before it was delivered.
	ReasonShutdown = "shutdown"
)

// DeadLetter is one line of the dead-letter file: a notification given up on, with why, and the
// whole alert, so that it can be sent again by hand.
type DeadLetter struct {
	AlertID     uuid.UUID `json:"alert_id"`
	Revision    uint32    `json:"revision"`
	Destination string    `json:"destination"`
	Reason      string    `json:"reason"`
	Attempts    int       `json:"attempts"`
	// Error is the last attempt's error, secrets redacted.
	Error string    `json:"error,omitempty"`
	At    time.Time `json:"at"`
	Alert ctc.Alert `json:"alert"`
}

// appendJSON appends the dead letter's JSON line (without the newline): what json.Marshal gives,
// without reflection, since a dead destination can make many.
func (d *DeadLetter) appendJSON(b []byte) []byte {
	b = append(b, `{"alert_id":"`...)
	b = append(b, d.AlertID.String()...)
	b = append(b, `","revision":`...)
	b = strconv.AppendUint(b, uint64(d.Revision), 10)
	b = append(b, `,"destination":`...)
	b = ctc.AppendJSONString(b, d.Destination)
	b = append(b, `,"reason":`...)
	b = ctc.AppendJSONString(b, d.Reason)
	b = append(b, `,"attempts":`...)
	b = strconv.AppendInt(b, int64(d.Attempts), 10)
	if d.Error != "" {
		b = append(b, `,"error":`...)
		b = ctc.AppendJSONString(b, d.Error)
	}
	b = append(b, `,"at":"`...)
	b = d.At.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","alert":`...)
	b = d.Alert.AppendJSON(b)
	return append(b, '}')
}

// ReadDeadLetters reads a dead-letter file.
func ReadDeadLetters(path string) ([]DeadLetter, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("notify: %w", err)
	}
	var out []DeadLetter
	for n, line := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var d DeadLetter
		if err := json.Unmarshal(line, &d); err != nil {
			return out, fmt.Errorf("notify: %s, line %d: %w", path, n+1, err)
		}
		out = append(out, d)
	}
	return out, nil
}
