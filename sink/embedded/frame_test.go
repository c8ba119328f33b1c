package embedded_test

import (
	"encoding/binary"
	"hash/crc32"
)

// frame frames a payload as the file format does, for tests that forge records.
func frame(payload []byte) []byte {
	b := binary.LittleEndian.AppendUint32(nil, uint32(len(payload)))
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(payload, crc32.MakeTable(crc32.Castagnoli)))
	return append(b, payload...)
}
