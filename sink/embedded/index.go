package embedded

import (
	"encoding/binary"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/coattailcapital/ctc"
)

// The in-memory state is a map per record kind from identity to entry, and sorted indexes of
// entries. Entries are immutable once indexed: a rewrite makes a new entry and unindexes the old
// one, so that a reader may copy an entry it found under the read lock without further care.

type alertEntry struct {
	a    ctc.Alert
	key  alertKey
	size int64 // of its record in the file, frame included
}

type volumeEntry struct {
	v    ctc.VolumeWindow
	key  aggKey
	ttl  int64
	size int64
}

type spreadEntry struct {
	w    ctc.SpreadWindow
	key  aggKey
	ttl  int64
	size int64
}

// alertKey orders alerts by detection time, then by id: ascending in the indexes, which queries
// walk backwards for newest first. The id is two big-endian halves, so that comparing them compares
// the UUIDs' bytes.
type alertKey struct {
	sec    int64
	nsec   int32
	hi, lo uint64
}

func newAlertKey(t time.Time, id uuid.UUID) alertKey {
	return alertKey{t.Unix(), int32(t.Nanosecond()), binary.BigEndian.Uint64(id[:8]), binary.BigEndian.Uint64(id[8:])}
}

func (k alertKey) compare(o alertKey) int {
	switch {
	case k.sec != o.sec:
		return cmpInt(k.sec, o.sec)
	case k.nsec != o.nsec:
		return cmpInt(k.nsec, o.nsec)
	case k.hi != o.hi:
		return cmpInt(k.hi, o.hi)
	}
	return cmpInt(k.lo, o.lo)
}

// aggKey is both the identity and the order of aggregates: window start, then symbol, then
// exchange (empty for spreads). Being comparable, it also keys their maps.
type aggKey struct {
	sec              int64
	nsec             int32
	symbol, exchange string
}

func newAggKey(start time.Time, symbol, exchange string) aggKey {
	return aggKey{start.Unix(), int32(start.Nanosecond()), symbol, exchange}
}

func (k aggKey) compare(o aggKey) int {
	switch {
	case k.sec != o.sec:
		return cmpInt(k.sec, o.sec)
	case k.nsec != o.nsec:
		return cmpInt(k.nsec, o.nsec)
	case k.symbol != o.symbol:
		return strings.Compare(k.symbol, o.symbol)
	}
	return strings.Compare(k.exchange, o.exchange)
}

func cmpInt[T int32 | int64 | uint64](a, b T) int {
	if a < b {
		return -1
	}
	if a > b {
		return 1
	}
	return 0
}

// index holds entries sorted by key, in blocks of at most maxBlock: a sorted list of sorted
// slices. An insert moves at most a block's entries, so that a backfill of old alerts into a full
// store costs microseconds, not a move of everything newer; records mostly arrive in time order,
// and then an insert is an append to the last block.
type index[K interface{ compare(K) int }, E any] struct {
	blocks [][]ref[K, E] // each sorted and non-empty; every key of a block is below the next block's
	n      int
}

const maxBlock = 1024

type ref[K, E any] struct {
	key K
	e   *E
}

func (x *index[K, E]) len() int { return x.n }

// find returns the block that holds k or would: the first whose last key is >= k, or the last block
// if k is beyond them all; and the position of k (or where it would go) in it.
func (x *index[K, E]) find(k K) (bi, i int, found bool) {
	bi, _ = slices.BinarySearchFunc(x.blocks, k, func(b []ref[K, E], k K) int { return b[len(b)-1].key.compare(k) })
	if bi == len(x.blocks) {
		bi--
	}
	i, found = slices.BinarySearchFunc(x.blocks[bi], k, func(r ref[K, E], k K) int { return r.key.compare(k) })
	return bi, i, found
}

func (x *index[K, E]) insert(k K, e *E) {
	x.n++
	r := ref[K, E]{k, e}
	nb := len(x.blocks)
	if nb == 0 {
		x.blocks = append(x.blocks, append(make([]ref[K, E], 0, 64), r))
		return
	}
	if last := x.blocks[nb-1]; last[len(last)-1].key.compare(k) < 0 {
		if len(last) >= maxBlock {
			x.blocks = append(x.blocks, append(make([]ref[K, E], 0, 64), r))
		} else {
			x.blocks[nb-1] = append(last, r)
		}
		return
	}
	bi, i, _ := x.find(k)
	b := slices.Insert(x.blocks[bi], i, r)
	if len(b) > maxBlock {
		// Split in two, each with room to grow.
		half := len(b) / 2
		tail := append(make([]ref[K, E], 0, maxBlock), b[half:]...)
		clear(b[half:])
		b = b[:half]
		x.blocks = slices.Insert(x.blocks, bi+1, tail)
	}
	x.blocks[bi] = b
}

func (x *index[K, E]) remove(k K) {
	if x.n == 0 {
		return
	}
	bi, i, found := x.find(k)
	if !found {
		return
	}
	x.n--
	if b := slices.Delete(x.blocks[bi], i, i+1); len(b) > 0 {
		x.blocks[bi] = b
	} else {
		x.blocks = slices.Delete(x.blocks, bi, bi+1)
	}
}

// removeIf drops the entries drop reports, and regroups the rest into full blocks if the removal
// left them sparse.
func (x *index[K, E]) removeIf(drop func(*E) bool) {
	x.n = 0
	kept := x.blocks[:0]
	for _, b := range x.blocks {
		if b = slices.DeleteFunc(b, func(r ref[K, E]) bool { return drop(r.e) }); len(b) > 0 {
			kept = append(kept, b)
			x.n += len(b)
		}
	}
	clear(x.blocks[len(kept):])
	x.blocks = kept
	if len(kept) > 2*(x.n/maxBlock+1) {
		var regrouped [][]ref[K, E]
		var cur []ref[K, E]
		for _, b := range kept {
			for _, r := range b {
				if len(cur) == maxBlock/2 {
					regrouped, cur = append(regrouped, cur), nil
				}
				if cur == nil {
					cur = make([]ref[K, E], 0, maxBlock)
				}
				cur = append(cur, r)
			}
		}
		if len(cur) > 0 {
			regrouped = append(regrouped, cur)
		}
		x.blocks = regrouped
	}
}

// lowerBound returns the position (block, index in it) of the first entry whose key is >= k.
func (x *index[K, E]) lowerBound(k K) (bi, i int) {
	if x.n == 0 {
		return 0, 0
	}
	bi, i, _ = x.find(k)
	if i == len(x.blocks[bi]) { // k is beyond every key
		return len(x.blocks), 0
	}
	return bi, i
}

// descend calls yield on the entries from the last down to the first whose key is >= lo (every
// entry if bounded is false), until yield returns false.
func (x *index[K, E]) descend(lo K, bounded bool, yield func(*E) bool) {
	lb, li := 0, 0
	if bounded {
		lb, li = x.lowerBound(lo)
	}
	for bi := len(x.blocks) - 1; bi >= lb; bi-- {
		b := x.blocks[bi]
		first := 0
		if bi == lb {
			first = li
		}
		for i := len(b) - 1; i >= first; i-- {
			if !yield(b[i].e) {
				return
			}
		}
	}
}

// ascend calls yield on the entries from the first whose key is >= lo (the first of all if
// bounded is false) to the last, until yield returns false.
func (x *index[K, E]) ascend(lo K, bounded bool, yield func(*E) bool) {
	lb, li := 0, 0
	if bounded {
		lb, li = x.lowerBound(lo)
	}
	for bi := lb; bi < len(x.blocks); bi++ {
		b := x.blocks[bi]
		if bi == lb {
			b = b[li:]
		}
		for _, r := range b {
			if !yield(r.e) {
				return
			}
		}
	}
}

// indexes is a set of indexes, one per value of a field (a type, a symbol), made on first use and
// dropped when empty so that the set does not grow with every symbol ever seen.
type indexes[G comparable, K interface{ compare(K) int }, E any] map[G]*index[K, E]

func (m indexes[G, K, E]) insert(g G, k K, e *E) {
	x := m[g]
	if x == nil {
		x = &index[K, E]{}
		m[g] = x
	}
	x.insert(k, e)
}

func (m indexes[G, K, E]) remove(g G, k K) {
	if x := m[g]; x != nil {
		x.remove(k)
		if x.n == 0 {
			delete(m, g)
		}
	}
}

func (m indexes[G, K, E]) removeIf(drop func(*E) bool) {
	for g, x := range m {
		x.removeIf(drop)
		if x.n == 0 {
			delete(m, g)
		}
	}
}

type typeSymbol struct {
	typ    ctc.AlertType
	symbol string
}

// state is everything a store holds in memory.
type state struct {
	alerts   map[uuid.UUID]*alertEntry
	all      index[alertKey, alertEntry]
	byType   indexes[ctc.AlertType, alertKey, alertEntry]
	bySymbol indexes[string, alertKey, alertEntry]
	byPair   indexes[typeSymbol, alertKey, alertEntry]

	volumes       map[aggKey]*volumeEntry
	volumesAll    index[aggKey, volumeEntry]
	volumesSymbol indexes[string, aggKey, volumeEntry]

	spreads       map[aggKey]*spreadEntry
	spreadsAll    index[aggKey, spreadEntry]
	spreadsSymbol indexes[string, aggKey, spreadEntry]

	// live counts the bytes of the file's records that the state holds; the rest of the file
	// (records replaced, expired or damaged) is what compaction would save.
	live int64
}

func newState() *state {
	return &state{
		alerts:        map[uuid.UUID]*alertEntry{},
		byType:        indexes[ctc.AlertType, alertKey, alertEntry]{},
		bySymbol:      indexes[string, alertKey, alertEntry]{},
		byPair:        indexes[typeSymbol, alertKey, alertEntry]{},
		volumes:       map[aggKey]*volumeEntry{},
		volumesSymbol: indexes[string, aggKey, volumeEntry]{},
		spreads:       map[aggKey]*spreadEntry{},
		spreadsSymbol: indexes[string, aggKey, spreadEntry]{},
	}
}

// The put methods store an entry, replacing the one with its identity; an entry already expired
// at now only removes its predecessor. With indexed false they fill the maps alone, for Open to
// sort everything once at the end.

func (s *state) putAlert(e *alertEntry, now int64, indexed bool) {
	if old := s.alerts[e.a.AlertID]; old != nil {
		delete(s.alerts, e.a.AlertID)
		if indexed {
			s.unindexAlert(old)
		}
		s.live -= old.size
	}
	if e.a.TTLEpoch <= now {
		return
	}
	s.alerts[e.a.AlertID] = e
	s.live += e.size
	if indexed {
		s.indexAlert(e)
	}
}

func (s *state) indexAlert(e *alertEntry) {
	s.all.insert(e.key, e)
	s.byType.insert(e.a.AlertType, e.key, e)
	s.bySymbol.insert(e.a.Symbol, e.key, e)
	s.byPair.insert(typeSymbol{e.a.AlertType, e.a.Symbol}, e.key, e)
}

func (s *state) unindexAlert(e *alertEntry) {
	s.all.remove(e.key)
	s.byType.remove(e.a.AlertType, e.key)
	s.bySymbol.remove(e.a.Symbol, e.key)
	s.byPair.remove(typeSymbol{e.a.AlertType, e.a.Symbol}, e.key)
}

func (s *state) putVolume(e *volumeEntry, now int64, indexed bool) {
	if old := s.volumes[e.key]; old != nil {
		delete(s.volumes, e.key)
		if indexed {
			s.volumesAll.remove(old.key)
			s.volumesSymbol.remove(old.v.Symbol, old.key)
		}
		s.live -= old.size
	}
	if e.ttl <= now {
		return
	}
	s.volumes[e.key] = e
	s.live += e.size
	if indexed {
		s.volumesAll.insert(e.key, e)
		s.volumesSymbol.insert(e.v.Symbol, e.key, e)
	}
}

func (s *state) putSpread(e *spreadEntry, now int64, indexed bool) {
	if old := s.spreads[e.key]; old != nil {
		delete(s.spreads, e.key)
		if indexed {
			s.spreadsAll.remove(old.key)
			s.spreadsSymbol.remove(old.w.Symbol, old.key)
		}
		s.live -= old.size
	}
	if e.ttl <= now {
		return
	}
	s.spreads[e.key] = e
	s.live += e.size
	if indexed {
		s.spreadsAll.insert(e.key, e)
		s.spreadsSymbol.insert(e.w.Symbol, e.key, e)
	}
}

// buildIndexes indexes every entry of the maps, sorting each kind once.
func (s *state) buildIndexes() {
	alerts := make([]*alertEntry, 0, len(s.alerts))
	for _, e := range s.alerts {
		alerts = append(alerts, e)
	}
	slices.SortFunc(alerts, func(a, b *alertEntry) int { return a.key.compare(b.key) })
	for _, e := range alerts {
		s.indexAlert(e)
	}

	volumes := make([]*volumeEntry, 0, len(s.volumes))
	for _, e := range s.volumes {
		volumes = append(volumes, e)
	}
	slices.SortFunc(volumes, func(a, b *volumeEntry) int { return a.key.compare(b.key) })
	for _, e := range volumes {
		s.volumesAll.insert(e.key, e)
		s.volumesSymbol.insert(e.v.Symbol, e.key, e)
	}

	spreads := make([]*spreadEntry, 0, len(s.spreads))
	for _, e := range s.spreads {
		spreads = append(spreads, e)
	}
	slices.SortFunc(spreads, func(a, b *spreadEntry) int { return a.key.compare(b.key) })
	for _, e := range spreads {
		s.spreadsAll.insert(e.key, e)
		s.spreadsSymbol.insert(e.w.Symbol, e.key, e)
	}
}

// expiredAny reports whether anything held has expired at now: a scan the janitor makes under the
// write lock alone, so that readers are held up only when there is something to remove.
func (s *state) expiredAny(now int64) bool {
	for _, e := range s.alerts {
		if e.a.TTLEpoch <= now {
			return true
		}
	}
	for _, e := range s.volumes {
		if e.ttl <= now {
			return true
		}
	}
	for _, e := range s.spreads {
		if e.ttl <= now {
			return true
		}
	}
	return false
}

// removeExpired drops every entry expired at now and returns how many.
func (s *state) removeExpired(now int64) int {
	n := 0
	for id, e := range s.alerts {
		if e.a.TTLEpoch <= now {
			delete(s.alerts, id)
			s.live -= e.size
			n++
		}
	}
	alertGone := func(e *alertEntry) bool { return e.a.TTLEpoch <= now }
	s.all.removeIf(alertGone)
	s.byType.removeIf(alertGone)
	s.bySymbol.removeIf(alertGone)
	s.byPair.removeIf(alertGone)

	for k, e := range s.volumes {
		if e.ttl <= now {
			delete(s.volumes, k)
			s.live -= e.size
			n++
		}
	}
	volumeGone := func(e *volumeEntry) bool { return e.ttl <= now }
	s.volumesAll.removeIf(volumeGone)
	s.volumesSymbol.removeIf(volumeGone)

	for k, e := range s.spreads {
		if e.ttl <= now {
			delete(s.spreads, k)
			s.live -= e.size
			n++
		}
	}
	spreadGone := func(e *spreadEntry) bool { return e.ttl <= now }
	s.spreadsAll.removeIf(spreadGone)
	s.spreadsSymbol.removeIf(spreadGone)
	return n
}

// aggregateTTL is when an aggregate ending at windowEnd expires, in Unix seconds: windowEnd +
// ctc.AlertTTL, rounded down as the detectors round an alert's TTLEpoch.
func aggregateTTL(windowEnd time.Time) int64 { return windowEnd.Add(ctc.AlertTTL).Unix() }
