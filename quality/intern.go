package quality

import (
	"sync"
	"sync/atomic"
)

// Exchanges and symbols repeat on every record, so they are interned: a lookup keyed by
// string(bytes) does not allocate, and a hit hands back the one string already held. The tables
// are bounded, in entries and in the length of what they keep, so that a stream of junk values
// cannot grow them; past the bound, values are simply allocated.
const (
	maxInternLen    = 64
	maxLocalIntern  = 4096 // a Chain's own table
	maxSharedIntern = 1024 // Decode's table, shared by every goroutine
)

// cacheSlot picks the slot of a small direct-mapped cache in front of an intern table: a hit
// costs one comparison instead of a map lookup with its hashing.
func cacheSlot(b []byte) int {
	h := uint64(14695981039346656037) // FNV-1a over the first maxInternLen bytes
	for _, c := range b[:min(len(b), maxInternLen)] {
		h = (h ^ uint64(c)) * 1099511628211
	}
	return int(h >> (64 - cacheBits))
}

const (
	cacheBits = 6
	cacheSize = 1 << cacheBits
)

// localIntern is a Chain's intern table: not shared, so not locked.
type localIntern struct {
	cache [cacheSize]string
	m     map[string]string
}

func (in *localIntern) intern(b []byte) string {
	k := cacheSlot(b)
	if s := in.cache[k]; s == string(b) {
		return s
	}
	s := internLocal(in.m, b)
	in.cache[k] = s
	return s
}

func internLocal(m map[string]string, b []byte) string {
	if s, ok := m[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(b) <= maxInternLen && len(m) < maxLocalIntern {
		m[s] = s
	}
	return s
}

// shared is Decode's intern table: readers load it without locking; a miss copies it under the
// lock (copy on write). The bound keeps the total copying small. The map holds pointers so that
// the cache in front of it can be refilled without allocating.
var shared struct {
	mu    sync.Mutex
	m     atomic.Pointer[map[string]*string]
	cache [cacheSize]atomic.Pointer[string]
}

func internShared(b []byte) string {
	c := &shared.cache[cacheSlot(b)]
	if p := c.Load(); p != nil && *p == string(b) {
		return *p
	}
	p := internSharedMap(b)
	if p == nil {
		return string(b) // too long, or the table is full
	}
	c.Store(p)
	return *p
}

func internSharedMap(b []byte) *string {
	if m := shared.m.Load(); m != nil {
		if p, ok := (*m)[string(b)]; ok {
			return p
		}
	}
	if len(b) > maxInternLen {
		return nil
	}
	shared.mu.Lock()
	defer shared.mu.Unlock()
	var old map[string]*string
	if m := shared.m.Load(); m != nil {
		old = *m
	}
	if p, ok := old[string(b)]; ok {
		return p
	}
	if len(old) >= maxSharedIntern {
		return nil
	}
	m := make(map[string]*string, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	s := string(b)
	m[s] = &s
	shared.m.Store(&m)
	return &s
}
