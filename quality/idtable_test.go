package quality

import (
	"testing"
	"unsafe"

	"github.com/google/uuid"
	"pgregory.net/rapid"
)

// TestIDTableMatchesMap: the open-addressing table behaves as a map under random inserts,
// updates and deletes, with enough ids to collide, grow and shrink.
func TestIDTableMatchesMap(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		tab := newIDTable()
		model := map[uuid.UUID]etime{}
		pool := rapid.IntRange(1, 5000).Draw(t, "pool")
		id := func(i int) uuid.UUID { return uuid.UUID{byte(i), byte(i >> 8), 7} }
		for range rapid.IntRange(0, 3000).Draw(t, "ops") {
			k := id(rapid.IntRange(0, pool).Draw(t, "id"))
			switch rapid.IntRange(0, 4).Draw(t, "op") {
			case 0, 1:
				ts := etime{rapid.Int64().Draw(t, "sec"), int32(rapid.IntRange(0, 1e9-1).Draw(t, "nsec"))}
				tab.put(k, ts)
				model[k] = ts
			case 2:
				if i := tab.find(k); i >= 0 {
					tab.removeAt(i)
				}
				delete(model, k)
			case 3:
				tab.shrink()
			default:
				got, ok := tab.get(k)
				want, wok := model[k]
				if ok != wok || got != want {
					t.Fatalf("get(%v) = %v %v, want %v %v", k, got, ok, want, wok)
				}
			}
			if tab.n != len(model) {
				t.Fatalf("%d entries, want %d", tab.n, len(model))
			}
		}
		n := 0
		tab.all(func(k uuid.UUID, ts etime) {
			n++
			if want, ok := model[k]; !ok || want != ts {
				t.Fatalf("entry %v %v, want %v %v", k, ts, want, ok)
			}
		})
		for k, want := range model {
			if got, ok := tab.get(k); !ok || got != want {
				t.Fatalf("lost %v", k)
			}
		}
		if n != len(model) || 2*tab.n > len(tab.slots) {
			t.Fatalf("%d entries listed, %d in the model, %d slots", n, len(model), len(tab.slots))
		}
	})
}

func TestIDSlotSize(t *testing.T) {
	if s := unsafe.Sizeof(idSlot{}); s != 32 {
		t.Errorf("idSlot is %d bytes, want 32", s)
	}
}
