package binance

import "bytes"

// fastAggTrade reads an aggTrade event laid out exactly as Binance sends it — these keys in this
// order, no whitespace — with byte comparisons instead of a JSON scan; the frames a live feed is
// made of take this path. Anything else, including every malformed frame, returns ok=false and
// goes through the general scanner, so the fast path only decides speed, never the result (the
// fuzz target checks that both agree).
func fastAggTrade(frame []byte) (sp spans, ok bool) {
	i := 0
	var good bool
	if bytes.HasPrefix(frame, []byte(`{"stream":"`)) {
		i = len(`{"stream":"`)
		j := bytes.IndexByte(frame[i:], '"')
		if j < 0 {
			return sp, false
		}
		for _, c := range frame[i : i+j] {
			if c < 0x20 || c == '\\' {
				return sp, false
			}
		}
		sp[kStream] = span{i - 1, i + j + 1}
		i += j + 1
		if i, good = expect(frame, i, `,"data":`); !good {
			return sp, false
		}
		sp[kData] = span{i, len(frame) - 1}
	}
	start := i
	if i, good = expect(frame, i, `{"e":"aggTrade","E":`); !good {
		return sp, false
	}
	sp[ke] = span{start + 5, start + 15}
	if i, good = digits(frame, i); !good {
		return sp, false
	}
	if i, good = expect(frame, i, `,"s":"`); !good {
		return sp, false
	}
	s := i
	for i < len(frame) && (frame[i] >= 'A' && frame[i] <= 'Z' || frame[i] >= '0' && frame[i] <= '9' || frame[i] >= 'a' && frame[i] <= 'z') {
		i++
	}
	if i == s || i >= len(frame) || frame[i] != '"' {
		return sp, false
	}
	sp[ks] = span{s - 1, i + 1}
	i++
	for _, f := range [...]struct {
		key  string
		k    int
		kind byte // 'n' number, 's' string, 'b' boolean
	}{{`,"a":`, ka, 'n'}, {`,"p":`, kp, 's'}, {`,"q":`, kq, 's'}, {`,"f":`, -1, 'n'}, {`,"l":`, -1, 'n'},
		{`,"T":`, kT, 'n'}, {`,"m":`, km, 'b'}, {`,"M":`, -1, 'b'}} {
		if i, good = expect(frame, i, f.key); !good {
			return sp, false
		}
		v := i
		switch f.kind {
		case 'n':
			i, good = digits(frame, i)
		case 's':
			i, good = decimalString(frame, i)
		case 'b':
			if i, good = expect(frame, i, "true"); !good {
				i, good = expect(frame, v, "false")
			}
		}
		if !good {
			return sp, false
		}
		if f.k >= 0 {
			sp[f.k] = span{v, i}
		}
	}
	if sp[kData].ok() {
		return sp, string(frame[i:]) == "}}"
	}
	return sp, string(frame[i:]) == "}"
}

func expect(frame []byte, i int, lit string) (int, bool) {
	if len(frame)-i < len(lit) || string(frame[i:i+len(lit)]) != lit {
		return i, false
	}
	return i + len(lit), true
}

// digits reads a JSON integer of up to 18 digits: no sign, no leading zero.
func digits(frame []byte, i int) (int, bool) {
	s := i
	for i < len(frame) && frame[i] >= '0' && frame[i] <= '9' {
		i++
	}
	return i, i > s && i-s <= 18 && (frame[s] != '0' || i-s == 1)
}

func decimalString(frame []byte, i int) (int, bool) {
	if i >= len(frame) || frame[i] != '"' {
		return i, false
	}
	s := i
	i++
	for i < len(frame) && (frame[i] >= '0' && frame[i] <= '9' || frame[i] == '.') {
		i++
	}
	if i >= len(frame) || frame[i] != '"' || i == s+1 {
		return i, false
	}
	return i + 1, true
}
