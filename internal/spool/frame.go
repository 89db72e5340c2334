package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

const (
	frameMagic = "VSP1"
	// prefixLen is magic, length and crc.
	prefixLen = 12
	// headerLen is seq, count and the id's length; the id follows.
	headerLen = 17
	// maxID bounds Record.ID.
	maxID = 255
	// maxFrame bounds a whole record on disk (length is a uint32; this
	// also refuses absurd lengths read back from a damaged file).
	maxFrame = 1 << 30
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// frameSize is the bytes a record with this id and data takes on disk.
func frameSize(id string, data []byte) int64 {
	return int64(prefixLen + headerLen + len(id) + len(data))
}

// encodeHead returns the bytes of r's frame that precede its data, given
// dataCRC, the CRC-32C of r.Data (computed outside the spool's lock).
func encodeHead(r Record, dataCRC uint32) []byte {
	b := make([]byte, prefixLen+headerLen+len(r.ID))
	copy(b, frameMagic)
	binary.BigEndian.PutUint32(b[4:], uint32(headerLen+len(r.ID)+len(r.Data)))
	h := b[prefixLen:]
	binary.BigEndian.PutUint64(h[0:], r.Seq)
	binary.BigEndian.PutUint64(h[8:], uint64(int64(r.Count)))
	h[16] = byte(len(r.ID))
	copy(h[headerLen:], r.ID)
	binary.BigEndian.PutUint32(b[8:], frameCRC(dataCRC, b[4:8], h))
	return b
}

// frameCRC continues dataCRC over the length field and the header.
func frameCRC(dataCRC uint32, length, header []byte) uint32 {
	return crc32.Update(crc32.Update(dataCRC, castagnoli, length), castagnoli, header)
}

// prefix is a frame's first prefixLen bytes, decoded.
type prefix struct {
	length uint32 // of header, id and data
	crc    uint32
}

var errBadMagic = errors.New("bad magic")

func parsePrefix(b []byte) (prefix, error) {
	if string(b[:4]) != frameMagic {
		return prefix{}, errBadMagic
	}
	p := prefix{length: binary.BigEndian.Uint32(b[4:]), crc: binary.BigEndian.Uint32(b[8:])}
	if p.length < headerLen || int64(p.length)+prefixLen > maxFrame {
		return prefix{}, fmt.Errorf("bad length %d", p.length)
	}
	return p, nil
}

// decodeBody checks body (the length bytes after a prefix) against p and
// returns the record it holds; Data aliases body.
func decodeBody(p prefix, body []byte) (Record, error) {
	idLen := int(body[16])
	if headerLen+idLen > len(body) {
		return Record{}, fmt.Errorf("id length %d past the end of the record", idLen)
	}
	head, data := body[:headerLen+idLen], body[headerLen+idLen:]
	var length [4]byte
	binary.BigEndian.PutUint32(length[:], p.length)
	if got := frameCRC(crc32.Checksum(data, castagnoli), length[:], head); got != p.crc {
		return Record{}, fmt.Errorf("crc mismatch: stored %08x, computed %08x", p.crc, got)
	}
	return Record{
		Seq:   binary.BigEndian.Uint64(head[0:]),
		Count: int(int64(binary.BigEndian.Uint64(head[8:]))),
		ID:    string(head[headerLen:]),
		Data:  data,
	}, nil
}

// headerCount reads seq and count from the start of a body without
// checking the crc (for skipping acknowledged records).
func headerCount(body []byte) (seq uint64, count int64) {
	return binary.BigEndian.Uint64(body[0:]), int64(binary.BigEndian.Uint64(body[8:]))
}
