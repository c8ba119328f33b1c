package kafkarunner

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/coattailcapital/ctc/partrunner"
)

// FileStateStore is a partrunner.StateStore in a local directory, for consumers that share a
// machine (a local Kafka, a demo, tests with several processes): heads and segments are files,
// and every Load and Save holds an exclusive lock on the directory's lock file (flock on Unix,
// LockFileEx on Windows), so that a save is conditional on the stored version across processes,
// as DynamoDB's conditional writes make it across hosts. A head is replaced atomically (temporary
// file, fsync, rename) after its new segments are durable, so a crash leaves the previous state
// or the new one. The directory must be on a local file system: network file systems do not all
// honour these locks. On other systems than Unix and Windows, Load and Save fail.
type FileStateStore struct {
	dir string
}

var _ partrunner.StateStore = (*FileStateStore)(nil)

// NewFileStateStore returns a store in dir, creating it if needed.
func NewFileStateStore(dir string) (*FileStateStore, error) {
	for _, d := range []string{dir, filepath.Join(dir, "heads"), filepath.Join(dir, "segments")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("kafkarunner: state directory: %w", err)
		}
	}
	return &FileStateStore{dir: dir}, nil
}

func (s *FileStateStore) lock() (func(), error) {
	f, err := os.OpenFile(filepath.Join(s.dir, "lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("kafkarunner: state lock: %w", err)
	}
	if err := lockFile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("kafkarunner: state lock: %w", err)
	}
	return func() { _ = unlockFile(f); f.Close() }, nil
}

// fileName is the file a key or segment name is kept in: escaped so that it is one path
// element, and on Windows without a colon, which NTFS reads as the start of a stream name.
func fileName(name string) string {
	n := url.PathEscape(name)
	if runtime.GOOS == "windows" {
		n = strings.ReplaceAll(n, ":", "%3A")
	}
	return n
}

func (s *FileStateStore) head(key string) string {
	return filepath.Join(s.dir, "heads", fileName(key))
}

func (s *FileStateStore) segment(name string) string {
	return filepath.Join(s.dir, "segments", fileName(name))
}

// Load implements partrunner.StateStore.
func (s *FileStateStore) Load(_ context.Context, key string) (*partrunner.ShardState, error) {
	unlock, err := s.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	st, _, err := s.load(key)
	if err != nil || st == nil {
		return nil, err
	}
	err = partrunner.JoinState(st, func(name string) ([]byte, error) { return os.ReadFile(s.segment(name)) })
	return st, err
}

// load reads a head and the segment names it holds (without their data).
func (s *FileStateStore) load(key string) (*partrunner.ShardState, []string, error) {
	b, err := os.ReadFile(s.head(key))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("kafkarunner: state of %s: %w", key, err)
	}
	st, err := partrunner.DecodeState(b)
	if err != nil {
		return nil, nil, err
	}
	var names []string
	for _, rs := range st.Ranges {
		if rs.State != nil {
			for _, g := range rs.State.Segments {
				names = append(names, g.Name)
			}
		}
	}
	if st.PendingSegment != "" {
		names = append(names, st.PendingSegment)
	}
	return st, names, nil
}

// Save implements partrunner.StateStore: it stores st only over version st.Version-1.
func (s *FileStateStore) Save(_ context.Context, key string, st *partrunner.ShardState) error {
	head, fresh, names := partrunner.SplitState(key, st)
	b, err := partrunner.EncodeState(head)
	if err != nil {
		return err
	}
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	old, oldNames, err := s.load(key)
	if err != nil {
		return err
	}
	var stored int64
	if old != nil {
		stored = old.Version
	}
	if stored != st.Version-1 {
		return fmt.Errorf("%w: %s is at version %d, the save expected %d", partrunner.ErrConflict, key, stored, st.Version-1)
	}
	for _, g := range fresh {
		if err := writeAtomic(s.segment(g.Name), g.Data); err != nil {
			return fmt.Errorf("kafkarunner: segment %q: %w", g.Name, err)
		}
	}
	if err := writeAtomic(s.head(key), b); err != nil {
		return fmt.Errorf("kafkarunner: state of %s: %w", key, err)
	}
	for _, n := range partrunner.StaleSegments(key, oldNames, names) {
		_ = os.Remove(s.segment(n)) // garbage at worst, never a wrong state
	}
	return nil
}

func writeAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
